"""The computer's Bluetooth stack, as the error tree sees it: what bleak, D-Bus (BlueZ on
Linux) and the OS raise when there is no stack, no adapter, an adapter that is off, or no
permission becomes one TransportError with a one-line hint, at the boundary.

    with bluetooth_errors("ble:auto: scan"):
        async with BleakScanner(...) as scanner: ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bleak.exc import BleakError

from repcue.errors import RepcueError, TransportError

_LINUX = sys.platform.startswith("linux")
NO_STACK_HINT = (
    "no Bluetooth stack: is bluetoothd running? (BlueZ over D-Bus: `systemctl start "
    "bluetooth`; in a container, the host's D-Bus is not there)"
    if _LINUX
    else "no Bluetooth stack: is Bluetooth available and enabled on this computer?"
)

# words in bleak's and BlueZ's messages -> what to tell the user
_HINTS = (
    ("ServiceUnknown", "bluetoothd is not running: `systemctl start bluetooth`"),
    ("No Bluetooth adapters", "no Bluetooth adapter found: plug one in or enable it"),
    ("adapter", "no usable Bluetooth adapter: plug one in or enable it"),
    ("turned off", "the Bluetooth adapter is off: turn it on (`bluetoothctl power on`)"),
    ("NotReady", "the Bluetooth adapter is off: turn it on (`bluetoothctl power on`)"),
    ("powered", "the Bluetooth adapter is off: turn it on (`bluetoothctl power on`)"),
    (
        "AccessDenied",
        "not allowed to use Bluetooth (D-Bus policy): add your user to the bluetooth group",
    ),
    ("NotAuthorized", "not allowed to use Bluetooth: grant this terminal Bluetooth access"),
)


def hint_for(err: BaseException) -> str:
    """One line saying what is wrong with the Bluetooth stack, and what to do."""
    if isinstance(err, (FileNotFoundError, ConnectionRefusedError)):
        return NO_STACK_HINT  # the D-Bus system bus socket (or BlueZ) is not there
    if isinstance(err, PermissionError):
        return "not allowed to use Bluetooth (permission denied on the system bus)"
    text = str(err)
    for word, hint in _HINTS:
        if word in text:
            return hint
    return f"Bluetooth failed: {text or type(err).__name__}"


def is_stack_error(err: BaseException) -> bool:
    """An error from the stack below us (not one of ours passing through)."""
    if isinstance(err, RepcueError):
        return False
    if isinstance(err, (BleakError, OSError)):
        return True
    # dbus_fast's own errors (only on Linux), without importing it elsewhere
    return type(err).__module__.startswith("dbus_fast")


@contextmanager
def bluetooth_errors(doing: str) -> Iterator[None]:
    """Raise what the stack raises inside as TransportError("<doing>: <hint>")."""
    try:
        yield
    except Exception as err:
        if not is_stack_error(err):
            raise
        raise TransportError(f"{doing}: {hint_for(err)}") from err
