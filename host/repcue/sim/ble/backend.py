"""The virtual radio as a bleak backend for the link's BLE transport (repcue.link.ble.scan's
BleBackend), so that unchanged bleak code reaches the virtual device."""

from __future__ import annotations

from repcue.link.ble.scan import BleBackend, set_default_backend
from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner
from repcue.sim.ble.radio import Radio, running_radio, set_default_radio


def backend_for(radio: Radio) -> BleBackend:
    """bleak's scanner and client over this radio (each connection on its default adapter)."""
    return BleBackend(BumbleScanner, BumbleClient, {"radio": radio}, virtual=True)


def running_backend() -> BleBackend | None:
    """The backend of the radio that runs (installed in this process, or offered by `repcue
    sim serve --ble` at $REPCUE_BLE_RADIO or its default path), or None."""
    radio = running_radio()
    return backend_for(radio) if radio is not None else None


def install(radio: Radio | None) -> None:
    """Make `radio` this process's radio and the link's default backend (None: neither)."""
    set_default_radio(radio)
    set_default_backend(backend_for(radio) if radio is not None else None)
