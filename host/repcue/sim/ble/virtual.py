"""A virtual device on the virtual radio: the real firmware, reached over BLE.

    async with VirtualBleDevice(radio, pair_key=key) as vdev:   # boots, waits for adverts
        async with DeviceClient(BleTransport(vdev.name, keys=keys)) as dev: ...

VirtualBleDevice is a VirtualDevice (repcue.sim.launcher) whose firmware gets the
`bluetooth` stand-in (repcue_device, on its MICROPYPATH), bridged into a Bumble peripheral on
`radio` by a BridgeServer in the caller's event loop. Its serial port is the device's pty
(`pty_path`): pair_key is written there with PAIR at first boot, as `repcue pair` does.
kill() + start() is a power cut with the flash kept. VirtualAir is the same radio in a
thread of its own, for a synchronous launcher (`repcue sim serve --ble`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from repcue.errors import TransportError
from repcue.sim.ble.bridge import PeripheralBridge
from repcue.sim.ble.radio import RadioServer, VirtualRadio, default_radio_path
from repcue.sim.ble.server import BridgeServer
from repcue.sim.launcher import VirtualDevice
from repcue.sim.options import AutopilotOptions, SimOptions
from repcue_device import STAND_INS


def with_stand_in(env: dict[str, str], bridge_path: str) -> dict[str, str]:
    """A firmware process environment that gets the `bluetooth` stand-in (right after the
    firmware root on MICROPYPATH) talking to the bridge at bridge_path."""
    out = dict(env)
    parts = [p for p in out.get("MICROPYPATH", ".frozen").split(":") if p]
    if str(STAND_INS) not in parts:
        parts.insert(1 if parts and parts[0] != ".frozen" else 0, str(STAND_INS))
    out["MICROPYPATH"] = ":".join(parts)
    out["REPCUE_BLE_SOCKET"] = bridge_path
    return out


class _BridgeAir:
    """A VirtualDevice's radio when the caller runs the bridges (VirtualBleDevice)."""

    radio_path: str | None = None  # the radio is the caller's object

    def __init__(self, server: BridgeServer) -> None:
        self.server = server

    def firmware_env(self, env: dict[str, str]) -> dict[str, str]:
        return with_stand_in(env, self.server.path)

    def stop(self) -> None:
        """The caller closes the bridges."""


class VirtualBleDevice:
    """The firmware on the virtual radio; see the module docstring.

    link_options: the BLE link's tunables (connections: the stack's slots, which the radio
    then enforces too; challenge_deadline_ms, proof_deadline_ms, grace_ms).
    """

    def __init__(
        self,
        radio: VirtualRadio,
        *,
        pair_key: bytes | None = None,
        device_id: str = "51b1e00001",
        speed: int = 1,
        autopilot: AutopilotOptions | None = None,
        flash: Path | None = None,
        heap_kb: int | None = None,
        link_options: dict[str, int] | None = None,
        weak_random: bool = False,
    ) -> None:
        self.pair_key = pair_key
        self.link_options = dict(link_options or {})
        self._workdir = Path(tempfile.mkdtemp(prefix="repcue-ble-"))
        slots = int(self.link_options.get("connections", 4))
        self.server = BridgeServer(radio, str(self._workdir / "ble.sock"), max_connections=slots)
        options = SimOptions(
            flash=flash,
            speed=speed,
            device_id=device_id,
            autopilot=autopilot,
            heap_kb=heap_kb,
            ble=True,
            ble_link=self.link_options,
            weak_random=weak_random,
        )
        self.device = VirtualDevice(options, air=_BridgeAir(self.server))
        self.bridge: PeripheralBridge | None = None

    @property
    def name(self) -> str:
        return self.device.ble_name

    @property
    def device_id(self) -> str:
        return self.device.device_id

    @property
    def pty_path(self) -> str:
        """The firmware's serial port (open it like /dev/ttyACM0)."""
        return self.device.pty_path

    @property
    def flash(self) -> Path:
        assert self.device.flash_path is not None, "start() first"
        return self.device.flash_path

    async def __aenter__(self) -> VirtualBleDevice:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, timeout_s: float = 15.0) -> PeripheralBridge:
        """Boot the firmware (again, after kill()); return once it advertises."""
        first = self.device.boots == 0
        if first:
            await self.server.start()
        before = self.server.bridges[-1] if self.server.bridges else None
        # in a thread: the firmware reaches the bridges, served by this loop, while booting
        try:
            await asyncio.to_thread(self.device.start if first else self.device.power_on)
            bridge = await self.server.wait_advertising(timeout_s)
            while bridge is before:
                bridge = await self.server.wait_advertising(timeout_s)
        except TimeoutError as err:
            raise TransportError(f"virtual BLE device did not boot: {self.stderr_tail()}") from err
        self.bridge = bridge
        if self.pair_key is not None and first:
            await self._pair_over_serial(self.pair_key)
        return bridge

    async def _pair_over_serial(self, key: bytes) -> None:
        from repcue.link.client import DeviceClient
        from repcue.link.serial import SerialTransport

        async with DeviceClient(SerialTransport(self.pty_path)) as usb:
            if key:
                await usb.pair(key)
            else:
                await usb.unpair()

    def stderr_tail(self, max_chars: int = 2000) -> str:
        return self.device.stderr_tail(max_chars) or "(no stderr)"

    async def kill(self) -> None:
        """Pull the power: SIGKILL; the radio link drops as a supervision timeout."""
        await asyncio.to_thread(self.device.power_off)
        await self._bridge_closed()

    async def stop(self) -> None:
        await asyncio.to_thread(self.device.stop)
        await self._bridge_closed()
        await self.server.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    async def _bridge_closed(self) -> None:
        if self.bridge is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bridge.closed.wait(), 3.0)


class VirtualAir:
    """The radio a virtual device's firmware and other processes' hosts share, run in a
    thread of its own so that a synchronous launcher (repcue sim) can host it.

        air = VirtualAir(workdir); air.start()
        env.update(air.firmware_env())      # for the micropython process
        ... `repcue --device ble:NAME` in any shell reaches it (radio_path) ...
        air.stop()
    """

    def __init__(
        self, workdir: Path, *, radio_path: Path | None = None, max_connections: int = 4
    ) -> None:
        self.bridge_path = str(workdir / "ble.sock")
        self.max_connections = max_connections
        self.radio_path = str(radio_path or default_radio_path())
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.bridges: BridgeServer | None = None

    def firmware_env(self, env: dict[str, str]) -> dict[str, str]:
        """env (the firmware's, with MICROPYPATH set) plus what BLE needs: the `bluetooth`
        stand-in on the path, the bridge socket."""
        return with_stand_in(env, self.bridge_path)

    def start(self, timeout_s: float = 5.0) -> None:
        self._thread = threading.Thread(target=self._run, name="repcue-virtual-air", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error is not None:
            raise TransportError(f"virtual radio did not start: {self._error}")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # reported to start() / stop()
            self._error = err
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        radio = VirtualRadio()
        self.bridges = BridgeServer(radio, self.bridge_path, max_connections=self.max_connections)
        Path(self.radio_path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.radio_path)  # a previous run's socket file
        radio_server = RadioServer(radio, self.radio_path)
        await self.bridges.start()
        await radio_server.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await radio_server.close()
            await self.bridges.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.radio_path)

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
