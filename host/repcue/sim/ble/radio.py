"""The virtual radio: Bumble controllers on one LocalLink, fully offline.

Peripherals (the firmware, through repcue.sim.ble.bridge) and centrals (the host, through the
bleak backend in repcue.sim.ble.bleak_backend) each get their own Bumble Device on their own
Controller (repcue.sim.ble.controller: one that behaves like a radio); the LocalLink carries
advertising and ACL data between them.

The link lives in one process. A RadioServer lets centrals in other processes join it
over a unix socket (HCI packets, H4 framing): ``repcue sim serve --ble`` owns the radio,
and ``REPCUE_BLE_RADIO=PATH repcue info --device ble:NAME`` reaches it (remote_radio).

A central's ATT MTU is a property of its adapter (a phone asks 185, a laptop 247, an old
stack never exchanges and stays at 23), so tests and benches pick it per adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import itertools
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from bumble import hci
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, StreamPacketSink, StreamPacketSource

from repcue.sim.ble.controller import RadioController

DEFAULT_CENTRAL_MTU = 247
ADV_INTERVAL_MS = 20.0  # Bumble's default is 1 s: far too slow for tests


def check_mtu(mtu: int) -> None:
    if not 23 <= mtu <= 517:
        raise ValueError(f"ATT MTU must be 23..517, got {mtu}")


class CentralAdapter:
    """A host's Bluetooth adapter: one central Device, shared by its scanners and clients."""

    def __init__(
        self, make_device: Callable[[], Awaitable[Device]], *, name: str = "hci0", mtu: int = 247
    ) -> None:
        check_mtu(mtu)
        self.name = name
        self.mtu = mtu
        self._make_device = make_device
        self._device: Device | None = None
        self._lock = asyncio.Lock()
        self._scanners = 0

    @property
    def device(self) -> Device:
        if self._device is None:
            raise RuntimeError("adapter not powered on yet (await ensure_on())")
        return self._device

    async def ensure_on(self) -> Device:
        async with self._lock:
            if self._device is None:
                device = await self._make_device()
                await device.power_on()
                self._device = device
        return self._device

    async def start_scan(self) -> None:
        """Scanning is shared: the first scanner starts it, the last stop ends it."""
        device = await self.ensure_on()
        async with self._lock:
            self._scanners += 1
            if self._scanners == 1:
                await device.start_scanning(active=True, filter_duplicates=False)

    async def stop_scan(self) -> None:
        async with self._lock:
            if self._scanners == 0:
                return
            self._scanners -= 1
            if self._scanners == 0 and self._device is not None:
                with contextlib.suppress(Exception):
                    await self._device.stop_scanning()


class Radio(Protocol):
    """What the bleak backend needs of a radio: an adapter to scan and connect with."""

    def adapter(self) -> CentralAdapter: ...


class VirtualRadio:
    """One shared stretch of air, in this process. Create it inside a running loop."""

    def __init__(self, *, central_mtu: int = DEFAULT_CENTRAL_MTU) -> None:
        check_mtu(central_mtu)
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.central_mtu = central_mtu
        self._serial = itertools.count(1)
        self._controllers: dict[int, RadioController] = {}
        self._adapters: dict[str, CentralAdapter] = {}

    def new_address(self) -> hci.Address:
        """A fresh random static address (top two bits 11), unique on this radio."""
        n = next(self._serial)
        raw = bytes([n & 0xFF, (n >> 8) & 0xFF, 0x5C, 0xE1, 0x7E, 0xC0 | (n >> 16 & 0x3F)])
        return hci.Address(raw, hci.Address.RANDOM_DEVICE_ADDRESS)

    def new_device(self, name: str, address: hci.Address | None = None) -> Device:
        """A Bumble Device on its own controller on this link (not powered on yet)."""
        address = address or self.new_address()
        controller = RadioController(name, link=self.link, public_address=address)
        host = Host(controller, AsyncPipeSink(controller))
        device = Device(name=name, address=address, host=host)
        device.advertising_interval_min = ADV_INTERVAL_MS
        device.advertising_interval_max = ADV_INTERVAL_MS
        self._controllers[id(device)] = controller
        return device

    async def remove_device(self, device: Device) -> None:
        """Take a device off the air: its peers see a supervision timeout."""
        controller = self._controllers.pop(id(device), None)
        if controller is not None:
            controller.vanish()

    def adapter(self, name: str = "hci0", mtu: int | None = None) -> CentralAdapter:
        """A host adapter on this radio (one per name; `mtu` only applies on creation)."""
        adapter = self._adapters.get(name)
        if adapter is None:

            async def make() -> Device:
                return self.new_device(f"central-{name}")

            adapter = CentralAdapter(make, name=name, mtu=mtu or self.central_mtu)
            self._adapters[name] = adapter
        return adapter

    def add_remote(self, source: StreamPacketSource, sink: StreamPacketSink) -> RadioController:
        """A controller on this link for a host in another process (see RadioServer)."""
        return RadioController(
            f"remote-{next(self._serial)}",
            host_source=source,
            host_sink=sink,
            link=self.link,
            public_address=self.new_address(),
        )


class _HciOverSocket(StreamPacketSource):
    """One remote host's HCI stream: a controller on the radio for as long as it lasts."""

    def __init__(self, radio: VirtualRadio, live: set[_HciOverSocket]) -> None:
        super().__init__()
        self.radio = radio
        self.live = live
        self.transport: Any = None
        self.controller: RadioController | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.live.add(self)
        self.controller = self.radio.add_remote(self, StreamPacketSink(transport))

    def connection_lost(self, exc: Exception | None) -> None:
        self.live.discard(self)
        if self.controller is not None:
            self.controller.vanish()
            self.controller = None


class RadioServer:
    """Lets centrals in other processes join a VirtualRadio through a unix socket."""

    def __init__(self, radio: VirtualRadio, path: str) -> None:
        self.radio = radio
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._live: set[_HciOverSocket] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(
            lambda: _HciOverSocket(self.radio, self._live), self.path
        )

    async def close(self) -> None:
        """Stop listening and cut every remote host off (their links drop)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for remote in list(self._live):
            remote.transport.close()
        await asyncio.sleep(0)  # let the transports finish closing


class RemoteRadio:
    """A radio owned by another process (its RadioServer's socket path)."""

    def __init__(self, path: str, *, central_mtu: int = DEFAULT_CENTRAL_MTU) -> None:
        check_mtu(central_mtu)
        self.path = path
        self.central_mtu = central_mtu
        self._adapter: CentralAdapter | None = None
        self._transport: Any = None

    def adapter(self) -> CentralAdapter:
        if self._adapter is None:

            async def make() -> Device:
                self._transport = await open_transport(f"unix:{self.path}")
                return Device.with_hci(
                    "central",
                    hci.Address.generate_static_address(),
                    self._transport.source,
                    self._transport.sink,
                )

            self._adapter = CentralAdapter(make, mtu=self.central_mtu)
        return self._adapter

    async def close(self) -> None:
        """Leave the radio (a new adapter is made on next use)."""
        transport, self._transport, self._adapter = self._transport, None, None
        _remotes.pop(self.path, None)
        if transport is not None:
            await transport.close()


_installed: Radio | None = None
_remotes: dict[str, RemoteRadio] = {}


def installed_radio() -> Radio | None:
    """The radio set_default_radio() installed in this process, if any."""
    return _installed


def default_radio() -> Radio:
    """The installed radio, else a fresh VirtualRadio (installed from then on)."""
    global _installed
    if _installed is None:
        _installed = VirtualRadio()
    return _installed


def set_default_radio(radio: Radio | None) -> None:
    global _installed
    _installed = radio


def remote_radio(path: str) -> RemoteRadio:
    """The remote radio at a RadioServer's socket path (one per path per process)."""
    radio = _remotes.get(path)
    if radio is None:
        radio = _remotes[path] = RemoteRadio(path)
    return radio


def default_radio_path() -> Path:
    """Where `repcue sim serve --ble` offers its radio to other processes."""
    override = os.environ.get("REPCUE_BLE_RADIO")
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "repcue" / "ble-radio.sock"
    return Path(tempfile.gettempdir()) / f"repcue-{getpass.getuser()}" / "ble-radio.sock"


def running_radio_at(path: Path) -> bool:
    """True when a RadioServer answers at path (not just a stale socket file)."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(str(path))
    except OSError:
        return False  # a stale socket file from a run that died
    finally:
        probe.close()
    return True


def running_radio() -> Radio | None:
    """The radio installed in this process, else the one a RadioServer offers at
    $REPCUE_BLE_RADIO or the default path (only if something answers there)."""
    if _installed is not None:
        return _installed
    path = default_radio_path()
    if not running_radio_at(path):
        return None
    return remote_radio(str(path))
