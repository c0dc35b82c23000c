"""The host's pairing keys: one 256-bit key per device, in a 0600 file.

`repcue pair` makes a key, writes it to the device over USB serial and stores it here
under the device id, with the device's name (and, once seen over the air, its BLE address)
so that a scan can tell which nearby devices we hold a key for. The file lives in the user
config dir (``$REPCUE_KEYS`` overrides the path). It is refused when group or others can
read it, as ssh refuses a private key.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from repcue.errors import RepcueError
from repcue_fw import ble_secure as sec

KEY_FILE = "ble_keys.json"


class KeyStoreError(RepcueError):
    """The key file is unreadable, malformed or readable by others."""

    exit_code = 13


@dataclass(frozen=True)
class PairedDevice:
    device_id: str
    key: bytes
    name: str
    address: str
    paired_at_s: int


def new_key() -> bytes:
    """A fresh random pairing key."""
    return secrets.token_bytes(sec.KEY_LEN)


def default_path() -> Path:
    override = os.environ.get("REPCUE_KEYS")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("repcue")) / KEY_FILE


class KeyStore:
    """Pairing keys by device id (lowercase hex)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

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
                    bytes.fromhex(entry["key"]),
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
                    "key": d.key.hex(),
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

    def devices(self) -> dict[str, PairedDevice]:
        return self._load()

    def get(self, device_id: str) -> bytes | None:
        entry = self._load().get(device_id.lower())
        return entry.key if entry else None

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
        if len(key) != sec.KEY_LEN:
            raise KeyStoreError(f"a pairing key is {sec.KEY_LEN} bytes, got {len(key)}")
        devices = self._load()
        dev_id = device_id.lower()
        devices[dev_id] = PairedDevice(dev_id, key, name, address, int(time.time()))
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
        devices = self._load()
        if devices.pop(device_id.lower(), None) is None:
            return False
        self._save(devices)
        return True
