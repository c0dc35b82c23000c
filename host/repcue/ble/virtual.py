"""A virtual device on the virtual radio: the real firmware, reached over BLE.

    async with VirtualBleDevice(radio, pair_key=key) as vdev:   # boots, waits for adverts
        async with DeviceClient(BleTransport(vdev.name, keys=keys)) as dev: ...

It runs the firmware's own boot path (main.py: app.main(), which starts the BLE link
because the board config says "ble") in the `micropython` unix port with device/mpy on its
path, so `import bluetooth` is the stand-in, bridged into a Bumble peripheral on `radio`
by a BridgeServer. Its serial port is a raw pty (`pty_path`), as a board's USB port:
pair_key is written there with PAIR at first boot, as `repcue pair` does. The sim board
keeps its flash in an image file, so kill() + start() is a power cut with the data kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import tty
from pathlib import Path
from types import TracebackType
from typing import Any

from repcue.ble.bridge import PeripheralBridge
from repcue.ble.radio import RadioServer, VirtualRadio, default_radio_path
from repcue.ble.server import BridgeServer
from repcue.errors import TransportError

# what a board's main.py does (firmware/main.py), for a firmware dir without one
BOOT_SCRIPT = """\
import sys
from repcue_fw import app

try:
    app.main()
except Exception as exc:
    sys.print_exception(exc, sys.stderr)
"""


def device_root() -> Path:
    """device/ of the source checkout (its mpy/ holds the `bluetooth` stand-in)."""
    return Path(__file__).resolve().parents[3] / "device"


def with_stand_in(env: dict[str, str], bridge_path: str) -> dict[str, str]:
    """A firmware process environment that gets the `bluetooth` stand-in (device/mpy right
    after the firmware root on MICROPYPATH) talking to the bridge at bridge_path."""
    out = dict(env)
    parts = [p for p in out.get("MICROPYPATH", ".frozen").split(":") if p]
    stand_in = str(device_root() / "mpy")
    if stand_in not in parts:
        parts.insert(1 if parts and parts[0] != ".frozen" else 0, stand_in)
    out["MICROPYPATH"] = ":".join(parts)
    out["REPCUE_BLE_SOCKET"] = bridge_path
    return out


class VirtualBleDevice:
    """The firmware on the virtual radio; see the module docstring."""

    def __init__(
        self,
        radio: VirtualRadio,
        *,
        pair_key: bytes | None = None,
        device_id: str = "51b1e00001",
        speed: int = 1,
        autopilot: dict[str, Any] | None = None,
        flash: Path | None = None,
        heap_kb: int | None = None,
        link_options: dict[str, int] | None = None,
        board_options: dict[str, Any] | None = None,
    ) -> None:
        self.radio = radio
        # link_options: the BLE link's tunables (connections: the stack's slots, which the
        # radio then enforces too; challenge_deadline_ms, proof_deadline_ms, grace_ms);
        # board_options: more of the sim board's config (pair_confirm, weak_random)
        self.link_options = link_options or {}
        self.board_options = board_options or {}
        self.pair_key = pair_key
        self.device_id = device_id.lower()
        self.speed = speed
        self.autopilot = autopilot
        self.heap_kb = heap_kb
        self._workdir = Path(tempfile.mkdtemp(prefix="repcue-ble-"))
        self.flash = flash or self._workdir / "flash.img"
        self.server = BridgeServer(
            radio,
            str(self._workdir / "ble.sock"),
            max_connections=int(self.link_options.get("connections", 4)),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.bridge: PeripheralBridge | None = None
        self.boots = 0
        self._master: int | None = None
        self._slave: int | None = None
        self.pty_path = ""  # the firmware's serial port (open it like /dev/ttyACM0)

    @property
    def name(self) -> str:
        """The name the firmware gives itself: repcue- and the last two id bytes."""
        return "repcue-" + self.device_id[-4:]

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

    def _env(self) -> dict[str, str]:
        from repcue.sim.options import firmware_root

        config: dict[str, Any] = {
            "clock": "real",
            "speed": self.speed,
            "flash": str(self.flash),
            "id": self.device_id,
            "ble": dict(self.link_options) if self.link_options else True,
        }
        if self.autopilot is not None:
            config["autopilot"] = self.autopilot
        config.update(self.board_options)
        config_path = self._workdir / "config.json"
        config_path.write_text(json.dumps(config))
        env = dict(os.environ)
        env["MICROPYPATH"] = f"{firmware_root()}:.frozen"
        env["REPCUE_BOARD"] = "sim"
        env["REPCUE_CONFIG"] = str(config_path)
        return with_stand_in(env, self.server.path)

    def _open_pty(self) -> None:
        # raw before the firmware starts; O_NONBLOCK on the master, which the firmware's
        # stdin/stdout share (its asyncio streams must never block); our slave handle keeps
        # the port from hanging up while no host has it open
        master, slave = os.openpty()
        tty.setraw(slave)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._master, self._slave = master, slave
        self.pty_path = os.ttyname(slave)

    async def _pair_over_serial(self, key: bytes) -> None:
        from repcue.link.client import DeviceClient
        from repcue.link.serial import SerialTransport

        async with DeviceClient(SerialTransport(self.pty_path)) as usb:
            if key:
                await usb.pair(key)
            else:
                await usb.unpair()

    async def start(self, timeout_s: float = 15.0) -> PeripheralBridge:
        """Boot the firmware; return once it advertises."""
        from repcue.sim.options import micropython_binary

        if self.proc is not None:
            raise TransportError("virtual BLE device already running")
        if self.boots == 0:
            await self.server.start()
            self._open_pty()
        script = self._workdir / "boot.py"
        script.write_text(BOOT_SCRIPT)
        argv = [micropython_binary()]
        if self.heap_kb:
            argv += ["-X", f"heapsize={self.heap_kb}K"]
        env = self._env()
        self.boots += 1
        stderr = open(self._workdir / f"stderr.{self.boots}.txt", "wb")  # noqa: SIM115
        with stderr:
            self.proc = subprocess.Popen(
                [*argv, str(script)],
                stdin=self._master,
                stdout=self._master,
                stderr=stderr,
                env=env,
                cwd=self._workdir,
                start_new_session=True,
                umask=0o077,  # the flash image holds the pairing key: owner-only files
            )
        before = self.server.bridges[-1] if self.server.bridges else None
        try:
            bridge = await self.server.wait_advertising(timeout_s)
            while bridge is before:
                bridge = await self.server.wait_advertising(timeout_s)
        except TimeoutError as err:
            raise TransportError(f"virtual BLE device did not boot: {self.stderr_tail()}") from err
        self.bridge = bridge
        if self.pair_key is not None and self.boots == 1:
            await self._pair_over_serial(self.pair_key)
        return bridge

    def stderr_tail(self, max_chars: int = 2000) -> str:
        path = self._workdir / f"stderr.{self.boots}.txt"
        if not path.exists():
            return "(no stderr)"
        code = self.proc.poll() if self.proc is not None else None
        text = path.read_text(errors="replace")[-max_chars:].strip()
        return f"exit {code}: {text}" if code is not None else text

    async def kill(self) -> None:
        """Pull the power: SIGKILL; the radio link drops as a supervision timeout."""
        await self._end(signal.SIGKILL)

    async def _end(self, sig: int) -> None:
        proc = self.proc
        self.proc = None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                await asyncio.to_thread(proc.wait, 3)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 3)
        bridge = self.bridge
        if bridge is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bridge.closed.wait(), 3.0)

    async def stop(self) -> None:
        await self._end(signal.SIGTERM)
        await self.server.close()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        shutil.rmtree(self._workdir, ignore_errors=True)


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
