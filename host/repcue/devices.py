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
    spec: str | DeviceSpec, *, sim_speed: float = 1, sim_launcher: Launcher | None = None
) -> Transport:
    """The transport a spec names (not yet open)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.scheme == "serial":
        return SerialTransport(parsed.target, baud=parsed.baud)
    if parsed.scheme == "sim":
        return SimTransport(parsed.target or None, speed=sim_speed, launcher=sim_launcher)
    from repcue.link.ble.transport import BleTransport

    return BleTransport(parsed.target, keys=KeyStore(), backend=ble_backend())


def open_device(
    spec: str | DeviceSpec,
    *,
    timeout_s: float = 1.0,
    retries: int = 4,
    sim_speed: float = 1,
    sim_launcher: Launcher | None = None,
) -> DeviceClient:
    """A client for the device a spec names; connect with ``async with``."""
    transport = make_transport(spec, sim_speed=sim_speed, sim_launcher=sim_launcher)
    return DeviceClient(transport, timeout_s=timeout_s, retries=retries)


def nearby(timeout_s: float = 2.0, keys: KeyStore | None = None) -> list[NearbyDevice] | None:
    """For `repcue devices`: the repcue devices advertising nearby, or None when no radio
    is reachable."""
    return list_nearby(timeout_s, keys, backend=ble_backend())
