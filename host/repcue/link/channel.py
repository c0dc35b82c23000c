"""Channel: request/response framing over a Transport, one request in flight.

Each request carries a fresh sequence number and is resent unchanged on timeout (the
device answers a repeat from its cache, so nothing runs twice). Answers with another
sequence number are stale and dropped. Every wait races the link's end, so a dropped
cable raises DisconnectedError instead of hanging.

Pipelining: over a transport whose `pipeline_depth` is 2 (a byte stream such as serial,
where a second request simply waits in the device's input), a request marked `pipelined`
may go out while another pipelined one awaits its answer: the device answers in order, so
an ACK travels while a READ_SESSIONS answer streams back and the line does not idle. Only
requests that are harmless to run twice may be pipelined: the device caches one answer,
so the resend of the older of two overlapping requests runs it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable
from typing import TypeVar

from repcue.errors import (
    DeviceError,
    DisconnectedError,
    NoFirmwareError,
    NotRunningError,
    ProtocolError,
    RepcueTimeoutError,
    VersionMismatchError,
)
from repcue.link import messages as msg
from repcue.link.transport import Transport
from repcue_fw.wire import WireError
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

T = TypeVar("T")

_REPL_HINTS = (b">>>", b"MicroPython", b"Traceback", b"raw REPL")
_NOISE_KEEP = 512
_SLOW_BAUD = 115200  # the waits leave room for a frame at this line rate


class WaitTimeout(Exception):
    """A single wait ran out (internal: retried, then reported as RepcueTimeoutError)."""


class Channel:
    """The protocol's transport-facing half: framing, sequence numbers, retries, events."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 1.0,
        retries: int = 4,
        max_frame: int = 4096,
        event_queue: int = 256,
    ) -> None:
        wf.check_max_frame(max_frame)
        self.transport = transport
        self.timeout_s = timeout_s
        self.retries = retries
        self.host_max_frame = max_frame
        self.frame_limit: int = wf.MIN_FRAME  # raised by the client after HELLO
        self._decoder = wf.Decoder(max_frame, detect_break=False)
        self._seq = 0
        self.pipeline_depth = max(1, int(getattr(transport, "pipeline_depth", 1)))
        self._admission = asyncio.Condition()
        self._in_flight = 0
        self._shared = False  # what is in flight is all pipelined
        self._pending: dict[int, asyncio.Future[wf.Frame]] = {}
        self.events: asyncio.Queue[msg.DeviceEvent] = asyncio.Queue(event_queue)
        self._disconnected = asyncio.Event()
        self._cause: BaseException | None = None
        self._reader: asyncio.Task[None] | None = None
        self._flush = True  # lead the next frame with 0x00 (first frame, after a timeout)
        self._noise = bytearray()  # bytes before any answer: tells a REPL from silence
        self._frames_seen = 0
        # statistics
        self.resends = 0
        self.stale_responses = 0
        self.most_in_flight = 0
        self.events_lost = 0

    async def open(self) -> None:
        await self.transport.open()
        self._reader = asyncio.create_task(self._read_loop(), name="repcue-link-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self.transport.close()

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._disconnected.is_set()

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.transport.receive()
                if not self._frames_seen and len(self._noise) < _NOISE_KEEP:
                    self._noise += data[: _NOISE_KEEP - len(self._noise)]
                for fr in self._decoder.feed(data):
                    self._on_frame(fr)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the transport's end, whatever form it takes
            self._cause = err
            self._disconnected.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(self.lost())

    def _on_frame(self, fr: wf.Frame) -> None:
        if fr.flags & (wf.FLAG_RESPONSE | wf.FLAG_EVENT):
            self._frames_seen += 1  # a device speaks (a REPL echoing our request does not)
        if fr.flags & wf.FLAG_EVENT:
            if fr.type != op.OP_EVENT:
                return
            try:
                event = msg.decode_event(fr.payload, fr.seq)
            except ProtocolError:
                return
            if self.events.full():
                self.events.get_nowait()  # keep the newest: live views want the present
                self.events_lost += 1
            self.events.put_nowait(event)
            return
        fut = self._pending.get(fr.seq) if fr.flags & wf.FLAG_RESPONSE else None
        if fut is None:
            self.stale_responses += 1  # e.g. a late answer to a request we resent
            return
        if not fut.done():
            fut.set_result(fr)

    def lost(self) -> DisconnectedError:
        err = DisconnectedError(f"{self.transport.description}: link lost")
        err.__cause__ = self._cause
        return err

    async def race(self, aw: Awaitable[T], timeout_s: float | None) -> T:
        """Await aw; raise DisconnectedError the moment the link drops, WaitTimeout if
        timeout_s passes first."""
        if self._disconnected.is_set():
            if inspect.iscoroutine(aw):
                aw.close()  # never started: say so, or Python warns it was not awaited
            raise self.lost()
        task = asyncio.ensure_future(aw)
        gone = asyncio.ensure_future(self._disconnected.wait())
        try:
            done, _ = await asyncio.wait(
                {task, gone}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if gone in done:
            raise self.lost()
        raise WaitTimeout

    async def request(self, opcode: int, payload: bytes = b"", *, pipelined: bool = False) -> bytes:
        """Send one request and return its response body after ST_OK.

        pipelined: the request changes nothing when run twice (a read, an ACK), so it may
        overlap another pipelined request where the transport allows (module docstring).
        Raises DeviceError for an error status, RepcueTimeoutError after every retry,
        DisconnectedError when the link drops, ProtocolError for nonsense.
        """
        name = op.OP_NAMES.get(opcode, str(opcode))
        if self._reader is None:
            raise DisconnectedError(f"{self.transport.description}: not open")
        if wf.OVERHEAD + len(payload) > self.frame_limit:
            raise ProtocolError(
                f"{name} request of {len(payload)} bytes exceeds the "
                f"{self.frame_limit}-byte frame limit"
            )
        await self._admit(pipelined)
        try:
            self._seq = seq = (self._seq + 1) & 0xFFFF
            wire = wf.encode(opcode, 0, seq, payload)
            fut: asyncio.Future[wf.Frame] = asyncio.get_running_loop().create_future()
            self._pending[seq] = fut
            try:
                response = await self._exchange(opcode, wire, fut)
            finally:
                del self._pending[seq]
        finally:
            await self._leave()
        return self._body(opcode, response)

    async def _admit(self, pipelined: bool) -> None:
        # Alone on the line, or beside other pipelined requests up to the depth.
        def may_go() -> bool:
            if self._in_flight == 0:
                return True
            return pipelined and self._shared and self._in_flight < self.pipeline_depth

        async with self._admission:
            await self._admission.wait_for(may_go)
            self._shared = pipelined if self._in_flight == 0 else self._shared
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)

    async def _leave(self) -> None:
        async with self._admission:
            self._in_flight -= 1
            self._admission.notify_all()

    async def _exchange(self, opcode: int, wire: bytes, fut: asyncio.Future[wf.Frame]) -> wf.Frame:
        # room for the answers ahead of ours, too, when requests overlap
        answers = self.frame_limit * self.pipeline_depth
        wait_s = self.timeout_s + (len(wire) + answers) * 10 / _SLOW_BAUD
        for attempt in range(self.retries + 1):
            data = b"\x00" + wire if self._flush else wire
            self._flush = False
            try:
                await self.race(self.transport.send(data), self.timeout_s * 5)
                return await self.race(asyncio.shield(fut), wait_s)
            except WaitTimeout:
                if self._answered_by_repl():
                    break  # a REPL will not start speaking frames: say so now, not after retries
                self._flush = True  # the device may hold half a frame: end it first
                if attempt < self.retries:
                    self.resends += 1
        raise self._timeout_error(opcode)

    def _answered_by_repl(self) -> bool:
        sample = bytes(self._noise)
        return not self._frames_seen and any(hint in sample for hint in _REPL_HINTS)

    def _timeout_error(self, opcode: int) -> Exception:
        name = op.OP_NAMES.get(opcode, str(opcode))
        where = self.transport.description
        sample = bytes(self._noise)
        if not self._frames_seen and sample.strip(b"\x00"):
            if self._answered_by_repl():
                return NoFirmwareError(
                    f"{where} answers with a MicroPython REPL, not the repcue firmware "
                    "(install it with `repcue firmware install`)",
                    sample=sample,
                )
            return NoFirmwareError(
                f"{where} sends bytes that are not repcue frames "
                "(another firmware, or the wrong baud rate?)",
                sample=sample,
            )
        return RepcueTimeoutError(f"{where}: no answer to {name} after {self.retries + 1} tries")

    def _body(self, opcode: int, fr: wf.Frame) -> bytes:
        name = op.OP_NAMES.get(opcode, str(opcode))
        if fr.version != wf.PROTOCOL_VERSION:
            raise version_error(fr.version)
        if fr.type != opcode:
            raise ProtocolError(f"device answered {name} with message type {fr.type}")
        payload = fr.payload
        if not payload:
            raise ProtocolError(f"device sent an empty {name} response")
        if payload[0] == op.ST_OK:
            return bytes(payload[1:])
        try:
            status, detail, text = op.get_error(payload, 0, len(payload))
        except WireError as err:
            raise ProtocolError(f"device sent a malformed {name} error: {err.message}") from err
        if status == op.ST_VERSION:
            raise version_error(detail)
        device_message = text.decode("utf-8", errors="replace")
        explain = f": {device_message}" if device_message else ""
        if status == op.ST_NOT_RUNNING:  # in a runner's words: the CLI prints only this
            raise NotRunningError(
                "no session is running on the device: nothing was stopped or saved",
                code=status,
                detail=detail,
                op=opcode,
                device_message=device_message,
            )
        raise DeviceError(
            f"{name} failed: {op.status_name(status)}{explain}",
            code=status,
            detail=detail,
            op=opcode,
            device_message=device_message,
        )


def version_error(device_version: int) -> VersionMismatchError:
    return VersionMismatchError(
        f"the device speaks protocol version {device_version}, this host speaks "
        f"{wf.PROTOCOL_VERSION}: update the firmware or the host",
        device_version=device_version,
        host_version=wf.PROTOCOL_VERSION,
    )
