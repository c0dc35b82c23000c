"""The ``sim:`` transport: a virtual device started for this connection, reached over its
pty exactly as a board's USB serial port (the link's SerialTransport)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from repcue.errors import RepcueError, TransportError
from repcue.link.serial import SerialTransport
from repcue.sim.launcher import start_virtual_device

# launcher(flash_path=..., speed=...) -> a started device with `pty_path` and stop()/close()
Launcher = Callable[..., Any]


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class SimTransport:
    """A virtual device that lives exactly as long as this transport is open."""

    pipeline_depth = SerialTransport.pipeline_depth  # its pty is a serial port

    def __init__(
        self,
        flash_path: str | None = None,
        *,
        speed: float = 1,
        launcher: Launcher | None = None,
    ) -> None:
        self.flash_path = flash_path
        self.speed = speed
        self._launcher = launcher
        self._device: Any = None
        self._serial: SerialTransport | None = None

    @property
    def description(self) -> str:
        return f"sim:{self.flash_path or ''}"

    @property
    def authenticated(self) -> bool:
        return True  # a cable: physical possession is the trust anchor

    @property
    def device(self) -> Any:
        """The launcher's device object (for control-channel access in tests and demo)."""
        return self._device

    async def open(self) -> None:
        launcher = self._launcher or start_virtual_device
        try:
            # launchers boot a subprocess and may block until it says hello
            started = await asyncio.to_thread(
                launcher, flash_path=self.flash_path, speed=self.speed
            )
            self._device = await _maybe_await(started)
        except RepcueError:
            raise
        except (OSError, RuntimeError, ValueError) as err:
            raise TransportError(f"cannot start the virtual device: {err}") from err
        path = getattr(self._device, "serial_path", None) or getattr(self._device, "pty_path", "")
        if not path:
            await self._stop_device()
            raise TransportError("the virtual device exposes no serial port")
        self._serial = SerialTransport(str(path))
        try:
            await self._serial.open()
        except BaseException:
            await self._stop_device()
            raise

    async def send(self, data: bytes) -> None:
        if self._serial is None:
            raise TransportError(f"{self.description}: not open")
        await self._serial.send(data)

    async def receive(self) -> bytes:
        if self._serial is None:
            raise TransportError(f"{self.description}: not open")
        return await self._serial.receive()

    async def close(self) -> None:
        if self._serial is not None:
            await self._serial.close()
            self._serial = None
        await self._stop_device()

    async def _stop_device(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        stop = getattr(device, "close", None) or getattr(device, "stop", None)
        if stop is not None:
            await _maybe_await(await asyncio.to_thread(stop))
