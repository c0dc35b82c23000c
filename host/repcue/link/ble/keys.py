"""The host's pairing keys: one 256-bit key per device, in the OS keyring or a 0600 file.

`repcue pair` makes a key, writes it to the device over USB serial and stores it here
under the device id, with the device's name (and, once seen over the air, its BLE address)
so that a scan can tell which nearby devices we hold a key for.

The index is a JSON file in the user config dir (``$REPCUE_KEYS`` overrides the path): one
entry per paired device, what `repcue devices` shows. The key itself goes to the OS
keyring when a recommended one is available (repcue.link.ble.os_keyring), and the entry then
only says so; otherwise the entry holds it, in hex. ``$REPCUE_KEYRING`` chooses: ``auto``
(the default), ``off`` (always the file, the keyring is never touched) or ``on`` (the
keyring, even a not-recommended one, or a KeyStoreError). Entries with the key inline
keep working in every mode; pairing again may move a key. A store opened on an explicit
path (tests, the demo's throwaway store) is file-only unless given a mode: the keyring is
one per user account, and keys of a private store must not land there.

The file is refused when group or others can read it, as ssh refuses a private key.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
from keyring.backend import KeyringBackend

from repcue.errors import KeyStoreError
from repcue.link.ble import os_keyring
from repcue_fw.wire import air

KEY_FILE = "ble_keys.json"
KeyringMode = Literal["auto", "on", "off"]
KEYRING_MODES: tuple[KeyringMode, ...] = ("auto", "on", "off")
_IN_KEYRING = "keyring"  # the index entry's "key_in" when the key is in the OS keyring


@dataclass(frozen=True)
class PairedDevice:
    device_id: str
    key: bytes | None  # None: the key is in the OS keyring
    name: str
    address: str
    paired_at_s: int

    @property
    def key_in(self) -> Literal["file", "keyring"]:
        return "file" if self.key is not None else "keyring"


def new_key() -> bytes:
    """A fresh random pairing key."""
    return secrets.token_bytes(air.KEY_LEN)


def default_path() -> Path:
    override = os.environ.get("REPCUE_KEYS")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("repcue")) / KEY_FILE


def keyring_mode_from_env() -> KeyringMode:
    raw = os.environ.get("REPCUE_KEYRING", "").strip().lower() or "auto"
    for mode in KEYRING_MODES:
        if raw == mode:
            return mode
    raise KeyStoreError(f"REPCUE_KEYRING={raw!r}: use auto, on or off")


@contextlib.contextmanager
def _keyring_errors(backend: KeyringBackend, doing: str) -> Iterator[None]:
    try:
        yield
    except KeyStoreError:
        raise
    except Exception as err:  # keyring.errors.KeyringError, or what a backend lets through
        raise KeyStoreError(
            f"the OS keyring ({os_keyring.backend_name(backend)}) failed {doing}: {err}"
        ) from err


class KeyStore:
    """Pairing keys by device id (lowercase hex).

    ``keyring`` is the mode (see the module doc); None means $REPCUE_KEYRING for the
    user's store (no ``path`` given) and ``off`` for a store at an explicit path.
    """

    def __init__(self, path: Path | None = None, *, keyring: KeyringMode | None = None) -> None:
        if keyring is not None and keyring not in KEYRING_MODES:
            raise KeyStoreError(f"keyring mode {keyring!r}: use auto, on or off")
        self.path = path or default_path()
        self._mode = keyring if keyring is not None or path is None else "off"

    @property
    def keyring_mode(self) -> KeyringMode:
        return self._mode if self._mode is not None else keyring_mode_from_env()

    def _load(self) -> dict[str, PairedDevice]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(
                f"{self.path} is readable by other users: run chmod 600 {self.path}"
            )
        try:
            raw = json.loads(self.path.read_text())
            devices = raw["devices"]
            return {
                dev_id: PairedDevice(
                    dev_id,
                    None if entry.get("key_in") == _IN_KEYRING else bytes.fromhex(entry["key"]),
                    str(entry.get("name", "")),
                    str(entry.get("address", "")),
                    int(entry.get("paired_at_s", 0)),
                )
                for dev_id, entry in devices.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise KeyStoreError(f"{self.path} is not a repcue key file: {err}") from err

    def _save(self, devices: dict[str, PairedDevice]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {
            "devices": {
                d.device_id: {
                    **({"key": d.key.hex()} if d.key is not None else {"key_in": _IN_KEYRING}),
                    "name": d.name,
                    "address": d.address,
                    "paired_at_s": d.paired_at_s,
                }
                for d in devices.values()
            }
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # created 0600 from the start: the key is never on disk with wider permissions
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(body, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _keyring_for_new_key(self) -> KeyringBackend | None:
        """The keyring a new key goes to, or None for the file (as the mode says)."""
        mode = self.keyring_mode
        if mode == "off":
            return None
        try:
            backend = os_keyring.active_backend()
            priority = os_keyring.priority(backend)
        except Exception as err:  # a broken keyring configuration: as good as none
            if mode == "on":
                raise KeyStoreError(f"REPCUE_KEYRING=on, but keyring fails: {err}") from err
            return None
        if priority >= os_keyring.RECOMMENDED_PRIORITY or (mode == "on" and priority > 0):
            return backend
        if mode == "on":
            raise KeyStoreError(
                "REPCUE_KEYRING=on, but there is no usable OS keyring (keyring's backend is "
                f"{os_keyring.backend_name(backend)}, priority {priority:g}): unlock or "
                f"install one, or set REPCUE_KEYRING=auto to keep keys in {self.path}"
            )
        return None

    def _keyring_holding(self, entry: PairedDevice) -> KeyringBackend:
        """The keyring to read or delete the key of an entry whose key is there."""
        what = (
            f"the key of device {entry.device_id} ({entry.name or 'no name'}) is in the "
            "OS keyring, but"
        )
        todo = "then try again, or pair the device again over USB (repcue pair)"
        if self.keyring_mode == "off":
            raise KeyStoreError(f"{what} REPCUE_KEYRING=off: unset it, {todo}")
        try:
            backend = os_keyring.active_backend()
            priority = os_keyring.priority(backend)
        except Exception as err:
            raise KeyStoreError(f"{what} keyring fails ({err}): fix it, {todo}") from err
        if priority <= 0:
            raise KeyStoreError(
                f"{what} no keyring is usable now (keyring's backend is "
                f"{os_keyring.backend_name(backend)}): unlock or configure it, {todo}"
            )
        return backend

    def devices(self) -> dict[str, PairedDevice]:
        """Every paired device. Raises KeyStoreError if the store cannot take a new key
        (an unreadable or too-open file, or REPCUE_KEYRING=on without a usable keyring):
        pairing asks this before it changes the device."""
        devices = self._load()
        self._keyring_for_new_key()
        return devices

    def get(self, device_id: str) -> bytes | None:
        """The device's key; None if it is not paired here."""
        entry = self._load().get(device_id.lower())
        if entry is None or entry.key is not None:
            return entry.key if entry else None
        backend = self._keyring_holding(entry)
        with _keyring_errors(backend, f"reading the key of device {entry.device_id}"):
            stored = os_keyring.read_key(backend, entry.device_id)
        try:
            key = bytes.fromhex(stored or "")
        except ValueError:
            key = b""
        if len(key) != air.KEY_LEN:
            state = "is not there" if stored is None else "is not a repcue key"
            raise KeyStoreError(
                f"the key of device {entry.device_id} ({entry.name or 'no name'}) should be "
                f"in the OS keyring ({os_keyring.backend_name(backend)}), but it {state}: "
                "pair the device again over USB (repcue pair)"
            )
        return key

    def paired(self, device_id: str) -> PairedDevice | None:
        """The device's index entry (no keyring access)."""
        return self._load().get(device_id.lower())

    def keyring_name(self) -> str:
        """The OS keyring's backend, for messages ("" if keyring fails)."""
        try:
            return os_keyring.backend_name(os_keyring.active_backend())
        except Exception:
            return ""

    def find(self, *, name: str = "", address: str = "") -> PairedDevice | None:
        """The paired device with this BLE address, else with this name."""
        devices = self._load().values()
        if address:
            for d in devices:
                if d.address and d.address.upper() == address.upper():
                    return d
        if name:
            for d in devices:
                if d.name == name:
                    return d
        return None

    def put(self, device_id: str, key: bytes, *, name: str = "", address: str = "") -> None:
        """Store the device's key: in the OS keyring if the mode and the keyring allow
        (under ``auto`` a keyring that fails to take it is passed over), else in the file."""
        if len(key) != air.KEY_LEN:
            raise KeyStoreError(f"a pairing key is {air.KEY_LEN} bytes, got {len(key)}")
        devices = self._load()
        dev_id = device_id.lower()
        inline: bytes | None = key
        backend = self._keyring_for_new_key()
        if backend is not None:
            try:
                with _keyring_errors(backend, f"storing the key of device {dev_id}"):
                    os_keyring.write_key(backend, dev_id, key)
                inline = None
            except KeyStoreError:
                if self.keyring_mode == "on":
                    raise
        devices[dev_id] = PairedDevice(dev_id, inline, name, address, int(time.time()))
        self._save(devices)

    def remember_address(self, device_id: str, address: str) -> None:
        """Note the BLE address a paired device was reached at (for `repcue devices`)."""
        devices = self._load()
        entry = devices.get(device_id.lower())
        if entry is None or entry.address == address:
            return
        devices[entry.device_id] = PairedDevice(
            entry.device_id, entry.key, entry.name, address, entry.paired_at_s
        )
        self._save(devices)

    def remove(self, device_id: str) -> bool:
        """Forget the device: its key where it is (keyring or file), then its entry."""
        devices = self._load()
        entry = devices.pop(device_id.lower(), None)
        if entry is None:
            return False
        if entry.key is None:
            backend = self._keyring_holding(entry)
            with _keyring_errors(backend, f"deleting the key of device {entry.device_id}"):
                os_keyring.delete_key(backend, entry.device_id)
        self._save(devices)
        return True
