"""Fill a gap in the live stream from the session's record on the device.

After a link drop (or a seq jump: the device's event ring dropped events) the steps that
ended meanwhile are in the record the journal writes (docs/protocol.md, READ_SESSION reads
the open session too): each step's index, kind, end reason, active ms and laps. Refill
turns them back into the step_start / lap / step_end (and session_start / session_end)
objects the stream missed, in order, each `"filled": true` with seq null and the record's
device time: the session's start (whole seconds) plus the active ms of the steps before,
so pauses taken earlier make it early. The record holds no cues, pauses or resumes, nor the
laps of the step still running: the gap object before the filled ones says so (`lost`),
and says why nothing could be filled when the record is gone (reclaimed after a sync) or
unreadable. It also drops a live object the fill already told (a subscription opened
before the record was read may deliver it again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from repcue.link.client import DeviceClient
from repcue.link.messages import SessionEntry
from repcue.live.events import EventMapper
from repcue.store.analysis import planned_steps
from repcue_fw.wire import WireError
from repcue_fw.wire.host.program import KIND_NAMES
from repcue_fw.wire.host.records import (
    SESSION_END_NAMES,
    STEP_END_NAMES,
    StoredSession,
    decode_session,
)

_MAX_STEPS = 10_000  # more than a device program unrolls to
# never in a record: a gap can give them back to no one
_NOT_RECORDED = ["cue", "pause", "resume", "record_error"]


def _name(names: tuple[str, ...], i: int) -> str:
    return names[i] if 0 <= i < len(names) else f"?{i}"


async def read_record(
    client: DeviceClient, session_id: int | None
) -> tuple[SessionEntry | None, StoredSession | None]:
    """The entry and decoded record of session_id (None: the open one, the newest if
    several); (None, None) when the device no longer has it, (entry, None) when its bytes
    do not decode (yet)."""
    entries = await client.list_sessions()
    if session_id is None:
        entries = [e for e in entries if not e.complete]
    else:
        entries = [e for e in entries if e.session_id == session_id]
    if not entries:
        return None, None
    entry = entries[-1]
    chunks = [c async for c in client.read_session(entry.session_id, size_bytes=entry.size_bytes)]
    try:
        return entry, decode_session(b"".join(chunks))
    except WireError:
        return entry, None


@dataclass
class Refill:
    """What the stream has told of the session (observe() every object), and the fills."""

    session_id: int | None = None
    started: int = -1  # highest step index whose start was told (or that attached named)
    ended: int = -1  # highest step index whose end was told
    laps: dict[int, int] = field(default_factory=dict)  # laps told, per step index
    _dup_start: int = -1  # filled in: a live copy of these is dropped
    _dup_end: int = -1

    def attached(self, obj: dict[str, Any]) -> None:
        """The first attach: a session already running is told up to the step it is in."""
        if obj["running"] and obj["session_id"] is not None:
            self._new_session(obj["session_id"])
            index = obj["index"]
            if index is not None:
                self.started, self.ended = index, index - 1

    def _new_session(self, session_id: int) -> None:
        self.session_id, self.started, self.ended, self.laps = session_id, -1, -1, {}
        self._dup_start = self._dup_end = -1

    def observe(self, obj: dict[str, Any]) -> bool:
        """Note an object going out; False for a live one the fill already told."""
        kind, filled = obj["event"], bool(obj.get("filled"))
        index: int = obj.get("index", -1)
        if kind == "session_start":
            self._new_session(obj["session_id"])
        elif kind == "step_start":
            if not filled and index <= self._dup_start:
                return False
            self.started = max(self.started, index)
        elif kind == "step_end":
            if not filled and index <= self._dup_end:
                return False
            self.ended = max(self.ended, index)
            self.started = max(self.started, index)
        elif kind == "lap":
            if not filled and index <= self._dup_end:
                return False
            self.laps[index] = self.laps.get(index, 0) + 1
        if filled:
            if kind == "step_start":
                self._dup_start = max(self._dup_start, index)
            elif kind == "step_end":
                self._dup_end = max(self._dup_end, index)
        return True

    # ---- the two gaps ---------------------------------------------------------------------

    async def after_link(
        self,
        client: DeviceClient,
        mapper: EventMapper,
        gap: dict[str, Any],
        running: tuple[SessionEntry | None, StoredSession | None] | None,
    ) -> list[dict[str, Any]]:
        """What the record gives back after a link drop, the session known before it
        first (to its end, if it ended meanwhile), then a session begun meanwhile (running:
        the open record, read by follow() already). Fills in `gap`'s fields."""
        self._dup_start = self._dup_end = -1
        out: list[dict[str, Any]] = []
        gap["from_index"] = self.started if self.started >= 0 else None
        known, record = self.session_id, "none"
        open_id = running[0].session_id if running and running[0] else None
        if known is not None:
            if known == open_id and running is not None:
                session = running[1]
            else:
                entry, session = await read_record(client, known)
                if entry is None:
                    record = "gone"
            if session is not None:
                out += self.fill(session, mapper, finish=True)
                record = "read"
            elif record == "none":
                record = "unreadable"
        if running is not None and open_id is not None and open_id != known:
            session = running[1]
            if session is None:
                record = "unreadable"
            else:
                out += self.fill(session, mapper, finish=True, begin=True)
                record = "read" if record != "gone" else record
        self._mark(gap, record, out, still_open=running is not None)
        return out

    async def after_seq(
        self, client: DeviceClient, mapper: EventMapper, gap: dict[str, Any], obj: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """What the record gives back before `obj`, the event after a seq jump: the steps
        that ended before the one obj is about (a change cue comes before the previous
        step's end), and that step's start unless obj is it."""
        kind, index = obj["event"], obj.get("index")
        gap["from_index"] = self.started if self.started >= 0 else None
        if self.session_id is None or kind in ("session_start", "refused", "unknown"):
            return []  # no session known, or a new one: nothing to fill it into
        if kind == "session_end":
            end_below, start_upto = math.inf, math.inf
        elif not isinstance(index, int) or index < 0:
            return []
        elif kind == "cue":
            end_below, start_upto = index - 1, index - 1
        else:
            end_below, start_upto = index, index - (kind == "step_start")
        entry, session = await read_record(client, self.session_id)
        if session is None:
            self._mark(gap, "gone" if entry is None else "unreadable", [], still_open=True)
            return []
        out = self.fill(session, mapper, end_below=end_below, start_upto=start_upto)
        self._mark(gap, "read", out, still_open=True)
        return out

    def _mark(
        self, gap: dict[str, Any], record: str, out: list[dict[str, Any]], *, still_open: bool
    ) -> None:
        gap["record"], gap["refilled"] = record, len(out)
        gap["to_index"] = self.started if self.started >= 0 else None
        if record == "read":
            # the running step's laps are recorded only when it ends
            gap["lost"] = _NOT_RECORDED + (["lap"] if still_open else [])

    # ---- the record's objects -------------------------------------------------------------

    def fill(
        self,
        session: StoredSession,
        mapper: EventMapper,
        *,
        end_below: float = math.inf,
        start_upto: float = math.inf,
        finish: bool = False,
        begin: bool = False,
    ) -> list[dict[str, Any]]:
        """The objects the record holds that were not told: steps with index < end_below
        that had not ended (their start too if not told), then the start of the step after
        them if <= start_upto (its kind from the record, or from the session's own program
        while it runs), then with finish the session's end if the record has it. begin:
        the session's own start first."""
        out: list[dict[str, Any]] = []
        base_ms = session.start_wall_s * 1000 if session.start_wall_s else None

        def put(kind: str, active_ms: int | None, fields: dict[str, Any]) -> None:
            at = None if base_ms is None or active_ms is None else base_ms + active_ms
            obj = mapper.filled(kind, at, fields)
            self.observe(obj)
            out.append(obj)

        plan = planned_steps(bytes(session.program), _MAX_STEPS) if session.program else []
        if begin:
            put("session_start", 0, {"session_id": session.session_id, "steps": len(plan)})
        active_ms, after = 0, 0  # after: the index the next step would have
        for step in session.steps:
            if step.index >= end_below:
                break
            begun_ms, active_ms, after = active_ms, active_ms + step.elapsed_ms, step.index + 1
            if step.index <= self.ended:
                continue
            kind = _name(KIND_NAMES, step.kind)
            if step.index > self.started:
                put("step_start", begun_ms, {"index": step.index, "kind": kind})
            lap_ms = begun_ms
            for i, split_ms in enumerate(step.laps_ms):
                lap_ms += split_ms
                if i >= self.laps.get(step.index, 0):
                    put("lap", lap_ms, {"index": step.index, "split_ms": split_ms})
            fields = {"kind": kind, "reason": _name(STEP_END_NAMES, step.end_reason)}
            put(
                "step_end", active_ms, {"index": step.index, **fields, "actual_ms": step.elapsed_ms}
            )
        # the step after them began (unless the session ended with them): its kind is in
        # the record if it ended by now, else in the session's program
        kinds = {step.index: _name(KIND_NAMES, step.kind) for step in session.steps}
        if not session.complete and after < len(plan):
            kinds[after] = plan[after].kind
        if self.started < after <= start_upto and after in kinds:
            put("step_start", active_ms, {"index": after, "kind": kinds[after]})
        if session.complete and finish:
            total_ms = session.total_ms
            reason = _name(SESSION_END_NAMES, session.end_reason or 0)
            put("session_end", total_ms, {"reason": reason, "total_ms": total_ms})
        return out
