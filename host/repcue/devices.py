"""Devices by spec: the one place that knows every kind of device the host can reach.

    async with open_device("ble:repcue-1a2b") as dev:
        info = await dev.hello()

serial: and ble: are the link's own transports; sim: starts a virtual device (repcue.sim)
for the connection; and when a virtual radio runs (`repcue sim serve --ble`, or one a test
installed), ble: reaches it through the virtual radio's bleak backend instead of the
computer's Bluetooth adapter. The link itself imports nothing of the simulator: it is
handed the transport and the backend from here.
"""

from __future__ import annotations

from collections.abc import Callable

from repcue.link.ble.keys import KeyStore
from repcue.link.ble.scan import BleBackend, NearbyDevice, default_backend, list_nearby
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.link.spec import DeviceSpec, parse_spec
from repcue.link.transport import Transport
from repcue.sim.transport import Launcher, SimTransport


def ble_backend() -> BleBackend:
    """The virtual radio's bleak backend when a virtual radio runs, else the default
    (the computer's own adapter, unless a test installed another)."""
    from repcue.sim.ble.backend import running_backend

    return running_backend() or default_backend()


def make_transport(
    spec: str | DeviceSpec,
    *,
    sim_speed: float = 1,
    sim_launcher: Launcher | None = None,
    wait_s: float | None = None,
    notice: Callable[[str], None] | None = None,
) -> Transport:
    """The transport a spec names (not yet open). wait_s bounds a BLE scan and connection
    (None: the transport's own waits); notice hears which device ble:auto chose."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.scheme == "serial":
        return SerialTransport(parsed.target, baud=parsed.baud)
    if parsed.scheme == "sim":
        return SimTransport(parsed.target or None, speed=sim_speed, launcher=sim_launcher)
    from repcue.link.ble.transport import BleTransport

    waits: dict[str, float] = {}
    if wait_s is not None:
        waits = {
            "scan_timeout_s": wait_s,
            "auto_window_s": min(2.0, wait_s),
            "connect_timeout_s": wait_s,
            "busy_wait_s": wait_s,
        }
    return BleTransport(
        parsed.target, keys=KeyStore(), backend=ble_backend(), notice=notice, **waits
    )


def open_device(
    spec: str | DeviceSpec,
    *,
    timeout_s: float = 1.0,
    retries: int = 4,
    sim_speed: float = 1,
    sim_launcher: Launcher | None = None,
    wait_s: float | None = None,
    notice: Callable[[str], None] | None = None,
) -> DeviceClient:
    """A client for the device a spec names; connect with ``async with``.

    wait_s (the CLI's --timeout): about how long to wait for the device at all: the BLE scan
    and connection, and a silent port's answer, spread over the tries (None: timeout_s for
    each of 1 + retries tries)."""
    transport = make_transport(
        spec, sim_speed=sim_speed, sim_launcher=sim_launcher, wait_s=wait_s, notice=notice
    )
    if wait_s is not None:
        timeout_s = max(wait_s / (retries + 1), 0.05)
    return DeviceClient(transport, timeout_s=timeout_s, retries=retries)


def nearby(timeout_s: float = 2.0, keys: KeyStore | None = None) -> list[NearbyDevice] | None:
    """For `repcue devices`: the repcue devices advertising nearby, or None when no radio
    is reachable."""
    return list_nearby(timeout_s, keys, backend=ble_backend())
