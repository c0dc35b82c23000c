"""DeviceClient: typed commands and bulk transfers over a Channel.

    async with DeviceClient(transport) as dev:
        info = await dev.hello()
        async for sent in dev.upload_program(data): ...
        async for chunk in dev.read_session(session_id): ...

Bulk transfers are async generators that yield progress; an interrupted upload resumes
where the device's buffer ends when it is started again (same bytes), and a session read
can restart at any offset.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any

from repcue.errors import AuthError, DeviceError, ProtocolError
from repcue.link import messages as msg
from repcue.link.channel import Channel, version_error
from repcue.link.messages import DeviceConfig, DeviceEvent, DeviceInfo, SessionEntry
from repcue.link.transport import Transport
from repcue_fw.wire import WireError
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

DEFAULT_MAX_FRAME = 4096  # what this host accepts; HELLO settles on the smaller side
SET_TIME_TRIES = 3  # set_time() to now: attempts at a round trip within SET_TIME_TIGHT_S
SET_TIME_TIGHT_S = 0.005
_CHUNK_HEADER = 4  # PROGRAM_CHUNK: u32 offset before the data
_CRC_TRAILER = 4  # a program ends with the CRC-32 of the bytes before it (its id)


class DeviceClient:
    """One device over one transport; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 1.0,
        retries: int = 4,
        max_frame: int = DEFAULT_MAX_FRAME,
        event_queue: int = 256,
    ) -> None:
        self.channel = Channel(
            transport,
            timeout_s=timeout_s,
            retries=retries,
            max_frame=max_frame,
            event_queue=event_queue,
        )
        self.info: DeviceInfo | None = None
        self._subscribed = False
        # the last set_time()'s round trip: the device's clock is within this of the value
        self.clock_error_s: float | None = None

    async def __aenter__(self) -> DeviceClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        await self.channel.open()

    async def close(self) -> None:
        await self.channel.close()

    @property
    def transport(self) -> Transport:
        return self.channel.transport

    @property
    def connected(self) -> bool:
        return self.channel.connected

    @property
    def authenticated(self) -> bool:
        """Whether the link reaches the intended device only (see Transport.authenticated):
        sync, upload and every command but hello() need it."""
        return bool(self.transport.authenticated)

    @property
    def max_frame(self) -> int:
        """The negotiated frame limit (MIN_FRAME before hello())."""
        return self.channel.frame_limit

    async def _call(self, opcode: int, payload: bytes = b"", *, pipelined: bool = False) -> bytes:
        # every connection starts with a handshake: it settles the frame size and turns a
        # protocol mismatch into a clear error before anything else is attempted
        if self.info is None and opcode != op.OP_HELLO:
            await self.hello()
        if opcode != op.OP_HELLO and not self.transport.authenticated:
            raise AuthError(
                f"{self.transport.description} is not authenticated: it is not paired with "
                "this computer, so nothing but HELLO is sent to it (pair it over USB first: "
                "repcue pair --device serial:PORT)"
            )
        return await self.channel.request(opcode, payload, pipelined=pipelined)

    async def _ensure_hello(self) -> None:
        if self.info is None:
            await self.hello()

    # ---- small commands -----------------------------------------------------------

    async def hello(self) -> DeviceInfo:
        """Handshake: settle the frame size and reset the device's per-host state."""
        body = await self._call(op.OP_HELLO, op.hello_req(self.channel.host_max_frame))
        info = msg.decode_info(body)
        if info.protocol_version != wf.PROTOCOL_VERSION:
            raise version_error(info.protocol_version)
        self.channel.frame_limit = max(
            wf.MIN_FRAME, min(info.max_frame, self.channel.host_max_frame)
        )
        expected = getattr(self.transport, "device_id", "")
        if expected and info.device_id != expected:
            raise AuthError(
                f"{self.transport.description} proved it holds the key of device {expected} "
                f"but says it is device {info.device_id or '(none)'}: refused"
            )
        self._subscribed = False
        self.info = info
        return info

    async def device_info(self) -> DeviceInfo:
        """Fresh INFO (free heap, clock, state) without a new handshake."""
        await self._ensure_hello()
        self.info = msg.decode_info(await self._call(op.OP_INFO))
        return self.info

    async def echo(self, data: bytes) -> bytes:
        return await self._call(op.OP_ECHO, bytes(data))

    async def set_time(self, epoch_s: float | None = None) -> int:
        """Set the device's wall clock to the millisecond: to epoch_s (Unix seconds), or by
        default to this computer's clock read as the request goes out. Returns the device's
        previous reading in whole seconds (0 = was unset).

        The device takes the value somewhere within the request's round trip, so that bounds
        its clock's error (kept in clock_error_s). Set to now, a slow round trip (above
        SET_TIME_TIGHT_S: a busy line or computer) is tried again with a fresh reading, up
        to SET_TIME_TRIES times in all."""
        await self._ensure_hello()  # the clock is read after the handshake, not before
        previous = 0
        for attempt in range(1 if epoch_s is not None else SET_TIME_TRIES):
            sent_s = time.monotonic()
            unix_ms = round((time.time() if epoch_s is None else epoch_s) * 1000)
            payload = _wire(f"time {unix_ms / 1000:.3f}", op.instant_req, unix_ms)
            body = await self._call(op.OP_SET_TIME, payload)
            self.clock_error_s = time.monotonic() - sent_s
            if attempt == 0:  # what the clock read before this computer set it
                previous = msg.decode_u32(body, "SET_TIME")
            if self.clock_error_s <= SET_TIME_TIGHT_S:
                break
        return previous

    async def start(self, at_unix_ms: int | None = None) -> int:
        """Remote START; returns the new session's id (0 if the device does not say).
        With at_unix_ms the device starts the installed program at that wall-clock instant
        by its own clock (set it first: set_time()) and the answer is 0, the id not known
        yet; it refuses an instant already past or more than 10 minutes ahead
        (DeviceError, status ST_BAD_REQUEST). STOP or a button start cancels it."""
        if at_unix_ms is None:
            return msg.decode_u32(await self._call(op.OP_START), "START")
        payload = _wire(f"start at {at_unix_ms}", op.instant_req, at_unix_ms)
        return msg.decode_u32(await self._call(op.OP_START, payload), "START")

    async def stop(self) -> None:
        """Stop and save the running session, or cancel a scheduled start."""
        await self._call(op.OP_STOP)

    async def press(self, button: int) -> bool:
        """Press a logical button as the device's own would: BTN_PAUSE (pause/resume),
        BTN_LAP or BTN_SKIP (repcue_fw.wire.events). True if it did something (False: no
        session running, or the press means nothing now)."""
        body = await self._call(op.OP_PRESS, _wire("button", op.press_req, button))
        return msg.decode_flag(body, "PRESS")

    async def enter_repl(self) -> None:
        """Ask the device to leave protocol mode; its REPL then owns the port."""
        await self._call(op.OP_REPL)

    async def config_get(self) -> DeviceConfig:
        return msg.decode_config(await self._call(op.OP_CONFIG_GET))

    async def config_set(
        self,
        *,
        cue_strength_pct: int | None = None,
        countdown_s: int | None = None,
        button_map: Sequence[int] | None = None,
    ) -> DeviceConfig:
        """Change only the given settings; returns the whole config as now applied."""
        mask = (
            (op.CFG_CUE_STRENGTH if cue_strength_pct is not None else 0)
            | (op.CFG_COUNTDOWN if countdown_s is not None else 0)
            | (op.CFG_BUTTONS if button_map is not None else 0)
        )
        values = (cue_strength_pct or 0, countdown_s or 0, list(button_map or ()))
        payload = _wire("config", op.config_set_req, mask, *values)
        return msg.decode_config(await self._call(op.OP_CONFIG_SET, payload))

    # ---- pairing (USB serial only: the device refuses these over BLE) ----------------

    async def pair(self, key: bytes) -> bool:
        """Offer a 32-byte BLE pairing key (replacing any old one). True: stored. False:
        the device waits for a button press to accept it (a board configured with
        "pair_confirm"); ask again with the same key until it says True."""
        body = await self._call(op.OP_PAIR, _wire("pairing key", op.pair_req, bytes(key)))
        return msg.decode_flag(body, "PAIR")

    async def unpair(self) -> bool:
        """Delete the device's BLE pairing key; True if it held one."""
        return msg.decode_flag(await self._call(op.OP_UNPAIR), "UNPAIR")

    # ---- program upload -----------------------------------------------------------

    async def upload_program(self, data: bytes) -> AsyncIterator[int]:
        """Upload and atomically install program bytes; yields bytes acknowledged.

        Starting again with the same bytes after a drop resumes at the device's offset.
        The upload is named by the program id (the CRC-32 of every byte before the
        program's CRC trailer), so another program of the same length never resumes it.
        """
        await self._ensure_hello()
        data = bytes(data)
        if len(data) <= _CRC_TRAILER:
            raise ProtocolError(f"a program is more than its {_CRC_TRAILER}-byte CRC trailer")
        crc = zlib.crc32(data[:-_CRC_TRAILER]) & 0xFFFFFFFF
        begin = _wire("program", op.program_begin_req, len(data), crc)
        offset = msg.decode_u32(await self._call(op.OP_PROGRAM_BEGIN, begin), "PROGRAM_BEGIN")
        if offset > len(data):
            raise ProtocolError(f"device resumes upload at {offset}, past its {len(data)} bytes")
        yield offset
        step = self.channel.frame_limit - wf.OVERHEAD - _CHUNK_HEADER
        while offset < len(data):
            piece = data[offset : offset + step]
            try:
                body = await self._call(op.OP_PROGRAM_CHUNK, op.program_chunk_req(offset, piece))
            except DeviceError as err:
                if err.code != op.ST_BAD_OFFSET or err.detail > offset:
                    raise
                offset = err.detail  # the device lost bytes we thought it held: go back
                continue
            held = msg.decode_u32(body, "PROGRAM_CHUNK")
            if held < offset or held > len(data):
                raise ProtocolError(f"device reports holding {held} of {len(data)} bytes")
            offset = held
            yield offset
        await self._call(op.OP_PROGRAM_COMMIT, op.u32(crc, "crc"))

    # ---- sessions -----------------------------------------------------------------

    async def list_sessions(self, after_id: int = 0) -> list[SessionEntry]:
        """Every session with an id above after_id, oldest first (all pages)."""
        await self._ensure_hello()
        out: list[SessionEntry] = []
        cursor = after_id
        while True:
            request = _wire("cursor", op.list_sessions_req, cursor, 255)
            page, more = msg.decode_sessions(
                await self._call(op.OP_LIST_SESSIONS, request, pipelined=True)
            )
            out.extend(page)
            if not more or not page:
                return out
            if page[-1].session_id <= cursor:
                raise ProtocolError("device listed sessions out of order")
            cursor = page[-1].session_id

    async def read_session(
        self, session_id: int, *, offset: int = 0, size_bytes: int | None = None
    ) -> AsyncIterator[bytes]:
        """The stored bytes of one session, chunk by chunk from offset.

        With size_bytes (from list_sessions) the read stops there without asking once
        more; otherwise it stops at the first short chunk.
        """
        await self._ensure_hello()
        want = self.channel.frame_limit - wf.OVERHEAD - 1
        while size_bytes is None or offset < size_bytes:
            request = _wire("read", op.read_session_req, session_id, offset, want)
            data = await self._call(op.OP_READ_SESSION, request, pipelined=True)
            if len(data) > want:
                raise ProtocolError(f"device sent {len(data)} bytes for a {want}-byte read")
            if data:
                offset += len(data)
                yield data
            if len(data) < want:
                return

    async def read_sessions(self, after_id: int = 0) -> AsyncIterator[tuple[SessionEntry, bytes]]:
        """Every session with an id above after_id, whole, oldest first.

        The batched form of list_sessions + read_session: each response packs as many
        sessions as fit a frame, so a sync of small sessions pays one round trip per
        frame instead of one per session. After a drop, call again with the last session
        stored.
        """
        await self._ensure_hello()
        cursor = (after_id + 1, 0)
        current: SessionEntry | None = None
        data = bytearray()
        while True:
            request = _wire("cursor", op.read_sessions_req, cursor[0], cursor[1], 0xFFFF)
            body = await self._call(op.OP_READ_SESSIONS, request, pipelined=True)
            more, segments = msg.decode_segments(body)
            for seg in segments:
                if current is None or seg.session_id != current.session_id:
                    if current is not None or seg.offset != 0:
                        raise ProtocolError(f"session {seg.session_id} arrived out of order")
                    current, data = seg.entry, bytearray()
                if seg.offset != len(data):
                    raise ProtocolError(f"session {seg.session_id} has a gap at {len(data)}")
                data += seg.data
                if len(data) >= current.size_bytes:
                    yield current, bytes(data)
                    cursor, current = (seg.session_id + 1, 0), None
                else:
                    cursor = (seg.session_id, len(data))
            if not more:
                if current is not None:
                    raise ProtocolError(
                        f"session {current.session_id} ended at {len(data)} of "
                        f"{current.size_bytes} bytes"
                    )
                return
            if not segments:
                raise ProtocolError("device promised more sessions but sent none")

    async def ack_sessions(self, ids: Sequence[int]) -> None:
        """Tell the device the host has stored these sessions (it may then reclaim them).
        Pipelined: acking twice is harmless, so it may travel while a read is answered."""
        await self._ensure_hello()
        per_frame = min(op.MAX_ACK_IDS, (self.channel.frame_limit - wf.OVERHEAD - 1) // 4)
        ids = list(ids)
        for start in range(0, len(ids), per_frame):
            batch = ids[start : start + per_frame]
            request = _wire("ids", op.ack_sessions_req, batch)
            await self._call(op.OP_ACK_SESSIONS, request, pipelined=True)

    # ---- events -------------------------------------------------------------------

    async def subscribe_events(self, on: bool = True) -> None:
        await self._ensure_hello()
        await self._call(op.OP_SUBSCRIBE, op.subscribe_req(on))
        self._subscribed = on

    async def events(self) -> AsyncIterator[DeviceEvent]:
        """Live engine events (subscribes first if needed); ends only with an error."""
        if not self._subscribed:
            await self.subscribe_events(True)
        while True:
            yield await self.channel.race(self.channel.events.get(), None)


def _wire(what: str, encoder: Callable[..., Any], *args: Any) -> bytes:
    """Run a shared-codec encoder; a value it rejects becomes a ProtocolError."""
    try:
        return bytes(encoder(*args))
    except WireError as err:
        raise ProtocolError(f"cannot send {what}: {err.message}") from err
