"""Typed views of the device's answers, decoded with the shared codecs of wire/host/opcodes.py."""

from __future__ import annotations

from dataclasses import dataclass

from repcue.errors import ProtocolError
from repcue_fw.wire import WireError
from repcue_fw.wire.host import opcodes as op


@dataclass(frozen=True)
class DeviceInfo:
    """What HELLO/INFO report. ``max_frame`` is the negotiated frame limit in bytes."""

    device_id: str  # hex
    name: str
    board: str
    firmware_version: str
    protocol_version: int
    capabilities: int
    max_frame: int
    free_heap: int
    free_flash: int
    clock_s: int  # device wall clock, Unix seconds; 0 = never set
    device_max_frame: int = 0
    program_id: int = 0  # installed program (its CRC-32), 0 = none
    running: bool = False

    def has(self, capability: int) -> bool:
        return bool(self.capabilities & capability)


@dataclass(frozen=True)
class SessionEntry:
    session_id: int
    size_bytes: int
    complete: bool
    acknowledged: bool = False  # a host acked it: the device may reclaim it

    @classmethod
    def from_flags(cls, session_id: int, size_bytes: int, flags: int) -> SessionEntry:
        complete = bool(flags & op.FLAG_COMPLETE)
        return cls(session_id, size_bytes, complete, bool(flags & op.FLAG_ACKNOWLEDGED))


@dataclass(frozen=True)
class Segment:
    """A piece of a stored session in a READ_SESSIONS answer."""

    entry: SessionEntry
    offset: int
    data: bytes

    @property
    def session_id(self) -> int:
        return self.entry.session_id


@dataclass(frozen=True)
class DeviceEvent:
    """An engine event relayed live: ``code`` is an engine EV_* code; ``seq`` counts
    every event the device queued, so a gap means events were dropped."""

    code: int
    a: int
    b: int
    seq: int


@dataclass(frozen=True)
class DeviceConfig:
    cue_strength_pct: int
    countdown_s: int
    button_map: tuple[int, ...]  # logical BTN_* per physical action, 0 = unused


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _malformed(what: str, err: WireError) -> ProtocolError:
    return ProtocolError(f"device sent a malformed {what} response: {err.message}")


def decode_info(body: bytes) -> DeviceInfo:
    try:
        fields = op.get_info(body, 0, len(body))
    except WireError as err:
        raise _malformed("HELLO/INFO", err) from err
    (version, max_frame, device_max, caps, heap, flash, clock_s, program_id, state) = fields[:9]
    device_id, name, board, firmware = fields[9:]
    return DeviceInfo(
        device_id=bytes(device_id).hex(),
        name=_text(name),
        board=_text(board),
        firmware_version=_text(firmware),
        protocol_version=version,
        capabilities=caps,
        max_frame=max_frame,
        free_heap=heap,
        free_flash=flash,
        clock_s=clock_s,
        device_max_frame=device_max,
        program_id=program_id,
        running=state == op.STATE_RUNNING,
    )


def decode_u32(body: bytes, what: str) -> int:
    try:
        value: int = op.get_u32(body, 0, len(body), what)
    except WireError as err:
        raise _malformed(what, err) from err
    return value


def decode_flag(body: bytes, what: str) -> bool:
    try:
        value: int = op.get_flag(body, 0, len(body), what)
    except WireError as err:
        raise _malformed(what, err) from err
    return bool(value)


def decode_sessions(body: bytes) -> tuple[list[SessionEntry], bool]:
    try:
        entries, more = op.get_sessions(body, 0, len(body))
    except WireError as err:
        raise _malformed("LIST_SESSIONS", err) from err
    return [SessionEntry.from_flags(*entry) for entry in entries], bool(more)


def decode_segments(body: bytes) -> tuple[bool, list[Segment]]:
    try:
        more, segments = op.get_segments(body, 0, len(body))
    except WireError as err:
        raise _malformed("READ_SESSIONS", err) from err
    return bool(more), [
        Segment(SessionEntry.from_flags(sid, size, flags), offset, data)
        for sid, size, flags, offset, data in segments
    ]


def decode_event(payload: bytes, seq: int) -> DeviceEvent:
    try:
        code, a, b = op.get_event(payload, 0, len(payload))
    except WireError as err:
        raise _malformed("EVENT", err) from err
    return DeviceEvent(code, a, b, seq)


def decode_config(body: bytes) -> DeviceConfig:
    try:
        cfg = op.get_config(body, 0, len(body))
    except WireError as err:
        raise _malformed("CONFIG", err) from err
    return DeviceConfig(cfg["cue_strength"], cfg["countdown_s"], tuple(cfg["buttons"]))
