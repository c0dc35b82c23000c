"""USB serial transport on pyserial: a reader thread hands bytes to the event loop.

No sleep-polling: the thread blocks in pyserial's read (select) until bytes arrive or
close() cancels it; a port that goes away ends the link with DisconnectedError.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from dataclasses import dataclass

import serial
from serial.tools import list_ports

from repcue.errors import (
    DisconnectedError,
    PortBusyError,
    PortNotFoundError,
    RepcueTimeoutError,
    TransportError,
)
from repcue.link.transport import Inbox

DEFAULT_BAUD = 115200

# USB ids of boards whose USB serial port is MicroPython's own. Boards behind a USB-UART
# bridge (CP210x, CH340) are not listed: any Arduino has those; name their port instead.
MICROPYTHON_USB_IDS: dict[tuple[int, int], str] = {
    (0x2E8A, 0x0005): "Raspberry Pi Pico (MicroPython)",
    (0xF055, 0x9800): "MicroPython board",
    (0x303A, 0x1001): "Espressif USB JTAG/serial (ESP32-C3/C6/S3)",
    (0x303A, 0x4001): "Espressif native USB (MicroPython)",
}


@dataclass(frozen=True)
class BoardPort:
    """A serial port that looks like a MicroPython board."""

    device: str
    description: str
    vid: int
    pid: int
    serial_number: str


def find_boards() -> list[BoardPort]:
    """Serial ports whose USB VID/PID is a known MicroPython board, sorted by path."""
    found = []
    for port in list_ports.comports():
        if port.vid is None or port.pid is None:
            continue
        kind = MICROPYTHON_USB_IDS.get((port.vid, port.pid))
        if kind is None:
            continue
        found.append(BoardPort(port.device, kind, port.vid, port.pid, port.serial_number or ""))
    return sorted(found, key=lambda b: b.device)


def resolve_port(target: str) -> str:
    """``auto`` -> the one board found; anything else is a path."""
    if target != "auto":
        return target
    boards = find_boards()
    if not boards:
        raise PortNotFoundError(
            "no MicroPython board found on USB (serial:auto); plug one in or name the port",
            port="auto",
        )
    if len(boards) > 1:
        names = ", ".join(b.device for b in boards)
        raise TransportError(
            f"several MicroPython boards found ({names}): pick one with serial:PATH"
        )
    return boards[0].device


def _open_error(port: str, err: Exception) -> TransportError:
    code = getattr(err, "errno", None)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFoundError(f"serial port {port} does not exist", port=port)
    if code in (errno.EBUSY, errno.EAGAIN) or "lock" in str(err).lower():
        return PortBusyError(f"serial port {port} is busy (another program has it open)", port=port)
    if code == errno.EACCES:
        return TransportError(f"no permission to open {port} (join the dialout/uucp group)")
    return TransportError(f"cannot open serial port {port}: {err}")


class SerialTransport:
    """``serial:PATH`` / ``serial:auto``: one port, opened exclusively."""

    # A byte stream: a second request waits in the device's input while it answers the
    # first, so two pipelined requests may overlap (repcue.link.channel).
    pipeline_depth = 2

    def __init__(
        self, port: str, *, baud: int = DEFAULT_BAUD, write_timeout_s: float = 5.0
    ) -> None:
        self._target = port
        self._baud = baud
        self._write_timeout_s = write_timeout_s
        self._serial: serial.Serial | None = None
        self._inbox: Inbox | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.port = port

    @property
    def description(self) -> str:
        return f"serial:{self.port}"

    @property
    def authenticated(self) -> bool:
        return True  # a cable: physical possession is the trust anchor

    async def open(self) -> None:
        self.port = resolve_port(self._target)
        try:
            self._serial = serial.Serial(
                self.port,
                self._baud,
                timeout=None,
                write_timeout=self._write_timeout_s,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise _open_error(self.port, err) from err
        self._inbox = Inbox(asyncio.get_running_loop(), self.description)
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._read_loop, name=f"repcue-serial-{self.port}", daemon=True
        )
        self._thread.start()

    def _read_loop(self) -> None:
        ser = self._serial
        inbox = self._inbox
        if ser is None or inbox is None:
            return  # closed before the thread got going
        try:
            while not self._closing.is_set():
                data = ser.read(1)  # blocks in select until a byte or cancel_read()
                if not data:
                    continue
                waiting = ser.in_waiting
                if waiting:
                    data += ser.read(waiting)
                inbox.put_threadsafe(data)
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            # TypeError/AttributeError: pyserial's fd vanished under us during close()
            inbox.close_threadsafe(err)
            return
        inbox.close_threadsafe(ConnectionAbortedError("closed"))

    async def send(self, data: bytes) -> None:
        ser = self._serial
        if ser is None or self._inbox is None or self._inbox.closed:
            raise DisconnectedError(f"{self.description}: not connected")
        try:
            await asyncio.to_thread(ser.write, data)
        except serial.SerialTimeoutException as err:
            raise RepcueTimeoutError(
                f"{self.description}: write timed out after {self._write_timeout_s} s"
            ) from err
        except (serial.SerialException, OSError, TypeError, AttributeError) as err:
            raise DisconnectedError(f"{self.description}: write failed ({err})") from err

    async def receive(self) -> bytes:
        if self._inbox is None:
            raise DisconnectedError(f"{self.description}: not connected")
        return await self._inbox.get()

    async def close(self) -> None:
        ser = self._serial
        if ser is None:
            return
        self._serial = None
        self._closing.set()
        with contextlib.suppress(serial.SerialException, OSError, AttributeError):
            ser.cancel_read()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)
            self._thread = None
        with contextlib.suppress(serial.SerialException, OSError):
            ser.close()
        if self._inbox is not None:
            self._inbox.close(ConnectionAbortedError("closed by the host"))
