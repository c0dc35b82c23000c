"""Device EVENT frames -> the live JSON schema (docs/live.md): one typed object per event.

EVENT frames carry (code, a, b, seq) and no timestamp, so an event's time is its arrival:
the host's wall clock, and the device's wall clock worked out from the offset learnt from
INFO's clock_s. A jump in seq becomes an explicit "gap" object before the event after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from repcue.errors import ProtocolError
from repcue.link.messages import DeviceEvent, DeviceInfo
from repcue_fw.wire.host import events as ev
from repcue_fw.wire.host.program import KIND_NAMES
from repcue_fw.wire.host.records import SESSION_END_NAMES, STEP_END_NAMES

SCHEMA_VERSION = 1
_SEQ_MOD = 1 << 16  # the frame header's seq is a u16

# Every object has these; then the fields of its kind (docs/live.md is the same table).
COMMON: dict[str, tuple[type, ...]] = {
    "v": (int,),
    "event": (str,),
    "seq": (int, type(None)),
    "wall": (str,),
    "device_ms": (int, type(None)),
}
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "attached": {
        "device_id": (str,),
        "name": (str,),
        "program_id": (str, type(None)),
        "running": (bool,),
        "session_id": (int, type(None)),
        "index": (int, type(None)),
    },
    "session_start": {"session_id": (int,), "steps": (int,)},
    "step_start": {"index": (int,), "kind": (str,)},
    "step_end": {
        "index": (int,),
        "kind": (str, type(None)),
        "reason": (str,),
        "actual_ms": (int, type(None)),
    },
    "lap": {"index": (int,), "split_ms": (int,)},
    "pause": {"index": (int,), "into_step_ms": (int,)},
    "resume": {"index": (int,), "paused_ms": (int,)},
    "cue": {"cue": (str,), "index": (int,)},
    "session_end": {"reason": (str,), "total_ms": (int,)},
    "refused": {"why": (str,)},
    "record_error": {"index": (int,)},
    "gap": {
        "missed": (int, type(None)),
        "why": (str,),
        "refilled": (int,),
        "lost": (list, type(None)),
        "record": (str,),
        "from_index": (int, type(None)),
        "to_index": (int, type(None)),
    },
    "unknown": {"code": (int,), "a": (int,), "b": (int,)},
}
_REFUSED = ("journal", "no program", "no memory")
# the kinds a session's record can give back after a gap (live/refill.py): these objects may
# carry "filled": true (seq null, times from the record); the record holds no cues or pauses
FILLABLE = ("session_start", "step_start", "step_end", "lap", "session_end")
GAP_RECORD = ("read", "gone", "unreadable", "none")


# a gap before anything is filled in: nothing given back, anything may be missing
_UNFILLED: dict[str, Any] = {
    "refilled": 0,
    "lost": None,
    "record": "none",
    "from_index": None,
    "to_index": None,
}


def _name(names: tuple[str, ...] | list[str], i: int) -> str:
    return names[i] if 0 <= i < len(names) and names[i] else f"?{i}"


def validate(obj: dict[str, Any]) -> None:
    """Raise ProtocolError unless obj is exactly one object of the documented schema."""
    kind = obj.get("event")
    if kind not in FIELDS:
        raise ProtocolError(f"live event: unknown kind {kind!r}")
    spec = {**COMMON, **FIELDS[str(kind)]}
    if "filled" in obj and kind in FILLABLE:
        if obj["filled"] is not True or obj["seq"] is not None:
            raise ProtocolError(f"live event {kind}: filled must be true, with seq null")
        spec["filled"] = (bool,)
    if set(obj) != set(spec):
        raise ProtocolError(f"live event {kind}: fields {sorted(obj)}, schema {sorted(spec)}")
    for key, types in spec.items():
        value = obj[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(f"live event {kind}: {key}={value!r} is not {types}")
    if obj["v"] != SCHEMA_VERSION:
        raise ProtocolError(f"live event {kind}: schema version {obj['v']}")
    datetime.fromisoformat(obj["wall"])  # a malformed time raises ValueError
    if kind == "gap":
        lost = obj["lost"]
        if lost is not None and not all(isinstance(k, str) for k in lost):
            raise ProtocolError(f"live event gap: lost={lost!r} is not a list of kinds")
        if obj["record"] not in GAP_RECORD:
            raise ProtocolError(f"live event gap: record={obj['record']!r} not in {GAP_RECORD}")


@dataclass
class EventMapper:
    """Turns DeviceEvents into schema objects. Keeps what the mapping needs between
    events: the clock offset, the last seq, each running step's start and pauses."""

    clock_offset_ms: int | None = None  # device wall clock minus host wall clock
    now_s: Callable[[], float] = time.time  # arrival time's clock (tests step their own)
    _last_seq: int | None = None
    _step: dict[str, int] = field(default_factory=dict)  # index, kind, started_ms, paused_ms

    def learn_clock(self, info: DeviceInfo) -> None:
        """INFO's clock_s (whole seconds; 0 = never set) against this host's clock."""
        now_ms = int(self.now_s() * 1000)
        self.clock_offset_ms = info.clock_s * 1000 - now_ms if info.clock_s else None

    def _base(self, kind: str, seq: int | None) -> dict[str, Any]:
        now_ms = int(self.now_s() * 1000)
        wall = datetime.fromtimestamp(now_ms / 1000, UTC).isoformat(timespec="milliseconds")
        offset = self.clock_offset_ms
        return {
            "v": SCHEMA_VERSION,
            "event": kind,
            "seq": seq,
            "wall": wall,
            "device_ms": None if offset is None else now_ms + offset,
        }

    def attached(
        self, info: DeviceInfo, running: tuple[int, int | None] | None = None
    ) -> dict[str, Any]:
        """The device as found: INFO, and (session id, current step index) if one runs."""
        self.learn_clock(info)
        return {
            **self._base("attached", None),
            "device_id": info.device_id,
            "name": info.name,
            "program_id": f"{info.program_id:08x}" if info.program_id else None,
            "running": info.running,
            "session_id": running[0] if running else None,
            "index": running[1] if running else None,
        }

    def link_gap(self) -> dict[str, Any]:
        """The link dropped: whatever the device sent meanwhile is lost, count unknown
        (the device numbers events only while a host is subscribed)."""
        self._last_seq = None
        return {**self._base("gap", None), "missed": None, "why": "link"} | _UNFILLED

    def filled(self, kind: str, device_ms: int | None, fields: dict[str, Any]) -> dict[str, Any]:
        """An object filled in from the session's record (refill.py): no seq, and its time
        the record's device time, turned into the host's through the clock offset (the
        arrival time when either clock is unknown)."""
        offset = self.clock_offset_ms
        now_ms = int(self.now_s() * 1000)
        host_ms = now_ms if device_ms is None or offset is None else device_ms - offset
        wall = datetime.fromtimestamp(host_ms / 1000, UTC).isoformat(timespec="milliseconds")
        if kind == "session_start":
            self._step = {}
        elif kind == "step_start":  # so the live step_end after it measures from its start
            kind_id = KIND_NAMES.index(fields["kind"]) if fields["kind"] in KIND_NAMES else -1
            self._step = {
                "index": fields["index"],
                "kind": kind_id,
                "started_ms": host_ms,
                "paused_ms": 0,
            }
        base = {"v": SCHEMA_VERSION, "event": kind, "seq": None, "wall": wall}
        return base | {"device_ms": device_ms} | fields | {"filled": True}

    def map(self, event: DeviceEvent) -> list[dict[str, Any]]:
        """The objects for one event: a "gap" first if seq jumped, then the event."""
        out = []
        if self._last_seq is not None:
            missed = (event.seq - self._last_seq - 1) % _SEQ_MOD
            if missed:
                gap = {**self._base("gap", None), "missed": missed, "why": "seq"}
                out.append(gap | _UNFILLED)
        self._last_seq = event.seq
        out.append({**self._base("unknown", event.seq), **self._fields(event)})
        return out

    def _fields(self, e: DeviceEvent) -> dict[str, Any]:
        code, a, b = e.code, e.a, e.b
        now_ms = int(self.now_s() * 1000)
        if code == ev.EV_SESSION_START:
            self._step = {}
            return {"event": "session_start", "session_id": a, "steps": b}
        if code == ev.EV_STEP_START:
            if self._step.get("index") != a:  # else a copy of a start filled in (refill.py)
                self._step = {"index": a, "kind": b, "started_ms": now_ms, "paused_ms": 0}
            return {"event": "step_start", "index": a, "kind": _name(KIND_NAMES, b)}
        if code == ev.EV_STEP_END:
            return {"event": "step_end", "index": a, "reason": _name(STEP_END_NAMES, b)} | (
                self._step_actual(a, now_ms)
            )
        if code == ev.EV_LAP:
            return {"event": "lap", "index": a, "split_ms": b}
        if code == ev.EV_PAUSE:
            return {"event": "pause", "index": a, "into_step_ms": b}
        if code == ev.EV_RESUME:
            if self._step.get("index") == a:
                self._step["paused_ms"] += b
            return {"event": "resume", "index": a, "paused_ms": b}
        if code == ev.EV_CUE:
            return {"event": "cue", "cue": _name(ev.CUE_NAMES, a), "index": b}
        if code == ev.EV_FINISH:
            return {"event": "session_end", "reason": _name(SESSION_END_NAMES, a), "total_ms": b}
        if code == ev.EV_REFUSED:
            return {"event": "refused", "why": _name(_REFUSED, a)}
        if code == ev.EV_RECORD_ERROR:
            return {"event": "record_error", "index": a}
        return {"code": code, "a": a, "b": b}  # later firmware: shown, never dropped

    def _step_actual(self, index: int, now_ms: int) -> dict[str, Any]:
        # measured by the host between the step's start and end arrivals, minus the pauses
        # the device reported; unknown when the step began before this host subscribed
        step = self._step
        if step.get("index") != index:
            return {"kind": None, "actual_ms": None}
        active = now_ms - step["started_ms"] - step["paused_ms"]
        return {"kind": _name(KIND_NAMES, step["kind"]), "actual_ms": max(0, active)}
