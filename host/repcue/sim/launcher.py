"""Start the real firmware under the `micropython` unix port as a virtual device.

The firmware's stdin/stdout are the master side of a raw pseudo-terminal with O_NONBLOCK
(so its asyncio streams never block the loop); `pty_path` is the slave side, which a host
opens with pyserial exactly like /dev/ttyACM0. We keep our own handle on the slave open for
the device's whole life, so a host closing and reopening the port is not a hang-up.
Buttons, cues and the clock go through the control channel (repcue.sim.control).

micropython runs a board's main.py (repcue.firmware_build.source.MAIN_PY, or a bundle's own)
with -i: when the firmware hands the port back (the REPL request), main.py returns and the
unix port's REPL takes the pty, as on a board. Stopping closes the control
socket (the board then powers itself off), then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tty
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from repcue.errors import RepcueError, SimError
from repcue.firmware_build.source import MAIN_PY, firmware_root
from repcue.paths import new_file
from repcue.sim import registry
from repcue.sim.control import ControlClient
from repcue.sim.options import (
    AutopilotOptions,
    ClockMode,
    SimOptions,
    micropython_binary,
)
from repcue.sim.screen import Frame, frame_from_reply
from repcue_fw.wire import device_name

if TYPE_CHECKING:
    from repcue.sim.buttons import ButtonServer

BOOT_TIMEOUT_S = 10.0


class Air(Protocol):
    """A virtual radio the firmware's `bluetooth` stand-in reaches (repcue.sim.ble.virtual)."""

    @property
    def radio_path(self) -> str | None:
        """Where other processes reach the radio (None: only this process can)."""

    def firmware_env(self, env: dict[str, str]) -> dict[str, str]: ...

    def stop(self) -> None: ...


def _owner_only(path: Path) -> None:
    """An image made before images were created 0600 holds the pairing key too."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


class VirtualDevice:
    """The firmware as a running board; see the module docstring.

    air: the radio for SimOptions(ble=True), when the caller runs one (the BLE tests' radio
    in their own event loop); by default the device starts a VirtualAir of its own.
    """

    def __init__(self, options: SimOptions | None = None, *, air: Air | None = None) -> None:
        self.options = options or SimOptions()
        self.options.validate()
        self.proc: subprocess.Popen[bytes] | None = None
        self.control: ControlClient | None = None
        self.pty_path = ""
        self._workdir: Path | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._stderr_file: Path | None = None
        self.flash_path: Path | None = None
        self.boots = 0
        self.air: Air | None = air  # the virtual radio, with SimOptions(ble=True)
        self._owns_air = False
        self.romfs_image: Path | None = None  # the ROMFS image, with SimOptions(romfs=True)
        self.buttons: ButtonServer | None = None  # lent out by lend_buttons()
        self._ram_dir: Path | None = None  # the screen's frame file lives here (screen_dir)

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> VirtualDevice:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        """Create the pty, the control socket and the flash image, then boot the firmware.
        Returns once the board has said hello on the control channel."""
        if self.proc is not None:
            raise SimError("virtual device already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="repcue-sim-"))
        try:
            if self.options.flash is not None:
                # a path the user named: its folder must be there (a typo creates nothing)
                self.flash_path = new_file(self.options.flash.expanduser(), "flash image")
                self.flash_path = self.flash_path.resolve()
                if self.options.format_flash:
                    self.flash_path.unlink(missing_ok=True)  # the firmware formats an empty one
                _owner_only(self.flash_path)
            else:
                self.flash_path = self._workdir / "flash.img"
            master, slave = os.openpty()
            tty.setraw(slave)  # before the firmware starts: no echo, no CRLF, no signals
            self._master, self._slave = master, slave
            self.pty_path = os.ttyname(slave)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(self._workdir / "ctl.sock"))
            listener.listen(1)
            self._listener = listener
            if self.options.ble and self.air is None:
                self._start_air()
            if self.options.romfs:
                from repcue.sim import romfs

                root = (self.options.firmware_dir or firmware_root()).resolve()
                self.romfs_image = romfs.image_for(root)
            self._boot(timeout_s)
            registry.register(self)
        except BaseException:
            self.stop()
            raise

    def lend_buttons(self) -> None:
        """Let other processes press this device's buttons (`repcue sim press`): a socket
        in the scratch dir, recorded in the registry."""
        from repcue.sim.buttons import ButtonServer

        if self._workdir is None:
            raise SimError("virtual device is not running")
        if self.buttons is None:
            self.buttons = ButtonServer(self, self._workdir / "buttons.sock")
            registry.register(self)

    def _boot(self, timeout_s: float) -> None:
        assert self._workdir is not None and self._master is not None
        assert self._listener is not None and self.flash_path is not None
        config_path = self._workdir / "config.json"
        config = self.options.board_config(
            self.flash_path, self._workdir / "ctl.sock", self._screen_file()
        )
        if "screen" in config:  # a blank (black) frame of the panel's size, made here
            from repcue.sim.screen import frame_bytes

            spec = config["screen"]
            Path(spec["file"]).write_bytes(bytes(frame_bytes(spec["w"], spec["h"], spec["mono"])))
        config_path.write_text(json.dumps(config))
        self._set_nonblocking(True)
        root = (self.options.firmware_dir or firmware_root()).resolve()
        env = dict(os.environ, **self.options.extra_env)
        # with ROMFS the firmware is imported from /rom only, as on such a board
        env["MICROPYPATH"] = ".frozen" if self.romfs_image else f"{root}:.frozen"
        env["REPCUE_BOARD"] = "sim"
        env["REPCUE_CONFIG"] = str(config_path)
        if self.air is not None:
            env = self.air.firmware_env(env)  # the `bluetooth` stand-in and its bridge
        self._start_process(self._argv(root), env)
        self.control = self._accept(timeout_s)
        try:
            self.control.wait_for(lambda r: r.get("k") == "boot", timeout_s)
        except SimError as err:
            raise SimError(f"virtual device did not boot: {self.stderr_tail()}") from err
        self._wait_serving(self.control, timeout_s)

    def _screen_file(self) -> Path:
        """Where the screen's frame goes: a RAM-backed folder when the system has one
        (/dev/shm): the firmware writes a band at a time, and a write to a disk-backed file
        can stall for tens of ms while other processes flush theirs, which would hold up
        the firmware's whole loop (a stall a board's SPI blit never has)."""
        assert self._workdir is not None
        if self._ram_dir is None and self.options.screen is not None:
            shm = Path("/dev/shm")
            if shm.is_dir() and os.access(shm, os.W_OK):
                self._ram_dir = Path(tempfile.mkdtemp(prefix="repcue-screen-", dir=shm))
        return (self._ram_dir or self._workdir) / "screen.raw"

    def _wait_serving(self, ctl: ControlClient, timeout_s: float) -> None:
        """Until the app serves the control channel, which it does once the flash is mounted.
        An app that stops before (a flash that does not mount) logs why and leaves the
        port to the REPL: that is a failed start, not a device a host finds talking REPL."""
        deadline = time.monotonic() + timeout_s
        while True:
            for record in list(ctl.records):
                why = str(record.get("msg", "")) if record.get("k") == "log" else ""
                if why.startswith("app stopped"):
                    raise SimError(self._stopped_at_boot(why))
            try:
                ctl.request("now", timeout_s=0.1)
                return
            except SimError:
                if ctl.closed or time.monotonic() > deadline:
                    raise

    def _stopped_at_boot(self, why: str) -> str:
        if "mount_storage" not in self.stderr_tail() or self.options.flash is None:
            return f"the firmware stopped at boot ({why}): {self.stderr_tail()}"
        flash = self.options.flash
        return (
            f"the flash image {flash} cannot be mounted: it is corrupt or not a repcue flash "
            f"image ({why.removeprefix('app stopped: ')}); it was left as it is. To erase it "
            f"and start with an empty flash: repcue sim serve --flash {flash} --format"
        )

    def _argv(self, root: Path) -> list[str]:
        argv = [micropython_binary()]
        bundle_main = root / "main.py" if self.options.firmware_dir else None
        main_code = bundle_main.read_text() if bundle_main and bundle_main.exists() else MAIN_PY
        if self.romfs_image is not None:
            from repcue.sim import romfs

            if self.options.heap_kb:
                size = self.romfs_image.stat().st_size
                argv += ["-X", f"heapsize={romfs.heapsize_bytes(self.options.heap_kb, size)}"]
            return [*argv, "-i", "-c", romfs.boot_stub(self.romfs_image, main_code)]
        if self.options.heap_kb:
            argv += ["-X", f"heapsize={self.options.heap_kb}K"]
        return [*argv, "-i", "-c", main_code]

    def _start_process(self, argv: list[str], env: dict[str, str]) -> None:
        assert self._workdir is not None and self._master is not None
        self.boots += 1
        self._stderr_file = self._workdir / f"stderr.{self.boots}.txt"
        with open(self._stderr_file, "wb") as err:
            self.proc = subprocess.Popen(
                argv,
                stdin=self._master,
                stdout=self._master,
                stderr=err,
                env=env,
                cwd=self._workdir,
                start_new_session=True,  # Ctrl-C in our terminal is ours to handle
                umask=0o077,  # the flash image holds the pairing key: owner-only files
            )

    def _start_air(self) -> None:
        # imported here: bumble is only loaded for a device that has a radio
        from repcue.sim.ble.radio import default_radio_path, running_radio_at
        from repcue.sim.ble.virtual import VirtualAir

        assert self._workdir is not None
        path = self.options.ble_radio or default_radio_path()
        if self.options.ble_radio is not None:  # named by the user: its folder must be there
            new_file(path, "radio socket")
        if running_radio_at(path):
            raise SimError(
                f"another virtual radio is on the air at {path}: stop it, or pick another "
                "path (--radio, $REPCUE_BLE_RADIO)"
            )
        slots = int(self.options.ble_link.get("connections", 4))
        air = VirtualAir(self._workdir, radio_path=path, max_connections=slots)
        try:
            air.start()
        except RepcueError as err:
            raise SimError(f"the virtual radio did not start: {err}") from err
        self.air = air
        self._owns_air = True

    @property
    def ble_name(self) -> str:
        """The name the firmware advertises."""
        name: str = device_name(bytes.fromhex(self.device_id))
        return name

    def _accept(self, timeout_s: float) -> ControlClient:
        assert self._listener is not None and self.proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            ready, _, _ = select.select([self._listener], [], [], 0.05)
            if ready:
                sock, _ = self._listener.accept()
                return ControlClient(sock, on_release=self._release_port)
            if self.proc.poll() is not None:
                raise SimError(
                    f"micropython exited with {self.proc.returncode} at boot: {self.stderr_tail()}"
                )
            if "Error" in self.stderr_tail():  # a traceback: -i keeps it alive at the REPL
                raise SimError(f"the firmware failed at boot: {self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise SimError(f"virtual device did not boot in {timeout_s} s")

    def _set_nonblocking(self, on: bool) -> None:
        # O_NONBLOCK lives on the open file description the firmware shares with us
        assert self._master is not None
        flags = fcntl.fcntl(self._master, fcntl.F_GETFL)
        flags = flags | os.O_NONBLOCK if on else flags & ~os.O_NONBLOCK
        fcntl.fcntl(self._master, fcntl.F_SETFL, flags)

    def _release_port(self) -> None:
        # the firmware is leaving protocol mode: the unix REPL needs a blocking stdin
        self._set_nonblocking(False)

    def _end_process(self, kill: bool) -> None:
        proc = self.proc
        if proc is None:
            return
        if self.control is not None:
            self.control.close()  # a board that loses its control channel powers off
            self.control = None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)
        self.proc = None

    def power_off(self) -> None:
        """Pull the power (SIGKILL, mid-write or not); power_on() boots again on the same
        flash and the same pty path."""
        registry.unregister(self)
        self._end_process(kill=True)

    def power_on(self, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        if self.proc is not None:
            raise SimError("virtual device is already on")
        self._boot(timeout_s)
        registry.register(self)

    def power_cycle(self, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        self.power_off()
        self.power_on(timeout_s)

    def restart(self, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        """End the firmware process politely and boot it again (same flash, same pty)."""
        self._end_process(kill=False)
        self._boot(timeout_s)
        registry.register(self)

    def stop(self) -> None:
        """Shut the device down and remove its temporary files (a --flash image is kept)."""
        registry.unregister(self)
        self._end_process(kill=False)
        if self.buttons is not None:
            self.buttons.close()
            self.buttons = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.air is not None and self._owns_air:
            self.air.stop()
            self.air = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        if self._ram_dir is not None:
            shutil.rmtree(self._ram_dir, ignore_errors=True)
            self._ram_dir = None

    def close(self) -> None:
        """The same as stop() (the name transports use)."""
        self.stop()

    # -- state ------------------------------------------------------------------------------
    @property
    def serial_path(self) -> str:
        """The pty to open like a board's USB port (the same as pty_path)."""
        return self.pty_path

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def device_id(self) -> str:
        boot = self.control.boot if self.control is not None else None
        return str(boot["id"]) if boot else self.options.resolved_device_id()

    def require_control(self) -> ControlClient:
        if self.control is None:
            raise SimError("virtual device is not running")
        return self.control

    def screenshot(self, min_frames: int = 1, timeout_s: float = 10.0) -> Frame:
        """The screen as it is now (SimError: no screen), once the UI has finished at least
        `min_frames` redraws (the first one draws the whole panel)."""
        ctl = self.require_control()
        deadline = time.monotonic() + timeout_s
        while True:
            reply = ctl.request("screen")
            if int(reply["frames"]) >= min_frames or time.monotonic() > deadline:
                return frame_from_reply(reply)
            time.sleep(0.02)

    def stderr_tail(self, max_chars: int = 2000) -> str:
        """The end of the firmware's stderr (tracebacks land there), for error messages."""
        if self._stderr_file is None or not self._stderr_file.exists():
            return ""
        text = self._stderr_file.read_text(errors="replace")
        return text[-max_chars:].strip()


def start_virtual_device(
    flash_path: str | Path | None = None,
    speed: float = 1,
    *,
    clock: ClockMode = "real",
    autopilot: AutopilotOptions | None = None,
    heap_kb: int | None = None,
    ticks_start_ms: int = 0,
) -> VirtualDevice:
    """Start a virtual device and return it running (what the `sim:` transport calls)."""
    options = SimOptions(
        flash=Path(flash_path) if flash_path else None,
        speed=max(1, int(speed)),
        clock=clock,
        autopilot=autopilot,
        heap_kb=heap_kb,
        ticks_start_ms=ticks_start_ms,
    )
    device = VirtualDevice(options)
    device.start()
    return device
