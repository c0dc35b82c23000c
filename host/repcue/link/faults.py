"""A fault-injecting byte proxy between a host and a device's serial port (for tests and
benches): drops, corrupts, duplicates and delays bytes, paces them at a baud rate, and
cuts the link.

    with PtyFaultProxy(device.serial_path, FaultPlan(seed=1, drop_per_byte=1e-3)) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path)) as dev: ...

The proxy owns a fresh pseudo-terminal: the host opens its slave (``serial_path``) with
pyserial like any port; a cut closes the master, so the host sees the port vanish while
the device stays up, as when a cable is pulled. FaultInjector is the sans-I/O core.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from types import TracebackType

_READ_BYTES = 4096
_PACE_SLICE = 64  # paced bytes go out in slices this big: a frame trickles in as on a UART


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong, per direction that has faults enabled. Rates are probabilities."""

    seed: int = 0
    drop_per_byte: float = 0.0
    corrupt_per_byte: float = 0.0  # one random bit flipped
    duplicate_per_chunk: float = 0.0  # a chunk (as read) delivered twice
    delay_per_chunk: float = 0.0
    max_delay_s: float = 0.02
    cut_after_bytes: int | None = None  # both directions together; then the link drops
    baud: int | None = None  # pace delivery at this line rate (10 bits a byte)
    to_device: bool = True
    to_host: bool = True


@dataclass
class FaultStats:
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0


class FaultInjector:
    """Mangles one direction's chunks according to a plan (deterministic per seed)."""

    def __init__(self, plan: FaultPlan, rng: random.Random, *, enabled: bool = True) -> None:
        self.plan = plan
        self.rng = rng
        self.enabled = enabled
        self.stats = FaultStats()

    def mangle(self, data: bytes) -> tuple[bytes, float]:
        """-> (bytes to deliver, seconds to hold them back first)."""
        self.stats.bytes_in += len(data)
        if not self.enabled:
            self.stats.bytes_out += len(data)
            return data, 0.0
        plan, rng = self.plan, self.rng
        out = bytearray()
        for byte in data:
            if plan.drop_per_byte and rng.random() < plan.drop_per_byte:
                self.stats.dropped += 1
                continue
            if plan.corrupt_per_byte and rng.random() < plan.corrupt_per_byte:
                byte ^= 1 << rng.randrange(8)
                self.stats.corrupted += 1
            out.append(byte)
        if plan.duplicate_per_chunk and rng.random() < plan.duplicate_per_chunk:
            out.extend(bytes(out))
            self.stats.duplicated += 1
        delay_s = 0.0
        if plan.delay_per_chunk and rng.random() < plan.delay_per_chunk:
            delay_s = rng.uniform(0, plan.max_delay_s)
            self.stats.delayed += 1
        self.stats.bytes_out += len(out)
        return bytes(out), delay_s


def _write_all(fd: int, data: bytes, stop: threading.Event) -> None:
    view = memoryview(data)
    while view and not stop.is_set():
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 0.05)
            continue
        view = view[n:]


@dataclass
class _Pipe:
    name: str
    src: int
    dst: int
    injector: FaultInjector
    line_free_at: float = 0.0  # monotonic time the emulated line is next idle
    thread: threading.Thread | None = field(default=None, repr=False)


class PtyFaultProxy:
    """Bytes between a device's serial path and a new pty for the host, with faults."""

    def __init__(self, device_path: str, plan: FaultPlan | None = None) -> None:
        self.device_path = device_path
        self.plan = plan or FaultPlan()
        self.serial_path = ""
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._fds: list[int] = []
        self._pipes: list[_Pipe] = []
        self._lock = threading.Lock()
        self._crossed = 0
        self.cut_done = threading.Event()

    def __enter__(self) -> PtyFaultProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def to_device(self) -> FaultStats:
        return self._pipes[0].injector.stats

    @property
    def to_host(self) -> FaultStats:
        return self._pipes[1].injector.stats

    def start(self) -> None:
        device = os.open(self.device_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(device)
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._wake_r, self._wake_w = os.pipe()
        # we keep a slave handle too: until the host opens the port, the master must not
        # read as hung up
        self._fds = [device, master, slave, self._wake_r, self._wake_w]
        self.serial_path = os.ttyname(slave)
        rng = random.Random(self.plan.seed)
        down = FaultInjector(self.plan, random.Random(rng.random()), enabled=self.plan.to_device)
        up = FaultInjector(self.plan, random.Random(rng.random()), enabled=self.plan.to_host)
        self._pipes = [
            _Pipe("to-device", master, device, down),
            _Pipe("to-host", device, master, up),
        ]
        for pipe in self._pipes:
            pipe.thread = threading.Thread(
                target=self._run, args=(pipe,), name=f"fault-proxy-{pipe.name}", daemon=True
            )
            pipe.thread.start()

    def _run(self, pipe: _Pipe) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([pipe.src, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                data = os.read(pipe.src, _READ_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                # EIO: the device's side of its pty closed (it died): the host sees a cut
                self.cut()
                return
            if not data:
                continue
            data, cut_now = self._count(data)
            out, delay_s = pipe.injector.mangle(data)
            if delay_s:
                time.sleep(delay_s)
            self._deliver(pipe, out)
            if cut_now:
                self.cut()
                return

    def _count(self, data: bytes) -> tuple[bytes, bool]:
        limit = self.plan.cut_after_bytes
        with self._lock:
            before = self._crossed
            self._crossed += len(data)
        if limit is None or self._crossed < limit:
            return data, False
        return data[: max(0, limit - before)], True

    def _deliver(self, pipe: _Pipe, data: bytes) -> None:
        baud = self.plan.baud
        if not baud:
            _write_all(pipe.dst, data, self._stop)
            return
        for start in range(0, len(data), _PACE_SLICE):
            piece = data[start : start + _PACE_SLICE]
            # each slice arrives once the emulated line has clocked it out
            pipe.line_free_at = max(pipe.line_free_at, time.monotonic()) + len(piece) * 10 / baud
            wait_s = pipe.line_free_at - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
            _write_all(pipe.dst, piece, self._stop)

    def cut(self) -> None:
        """Pull the cable: the host's port vanishes (its reads fail); the device stays up."""
        if self.cut_done.is_set():
            return
        self.cut_done.set()
        self._shutdown()

    def close(self) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        current = threading.current_thread()
        for pipe in self._pipes:
            if pipe.thread is not None and pipe.thread is not current:
                pipe.thread.join(2.0)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
