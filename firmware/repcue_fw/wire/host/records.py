# Stored sessions, the host's side: decode_session() turns the bytes read from a device into
# a StoredSession with its StoredSteps, encode_session() is its inverse (tests, tools), and
# the names of end reasons. The record layout, its encoders and parse() are
# wire/records.py (what the firmware runs, re-exported here). docs/protocol.md is the
# spec.
from repcue_fw.wire import WireError, varint
from repcue_fw.wire.host.program import KIND_NAMES
from repcue_fw.wire.records import *  # noqa: F403  (the board's side, and the host's add-ons below)
from repcue_fw.wire.records import (
    LAPS_PER_RECORD,
    MAX_RECORD,
    OUT_LEN,
    REC_END,
    REC_HEADER,
    REC_LAPS,
    REC_PROGRAM,
    REC_STEP,
    REC_STEP_LAPS,
    encode_end,
    encode_header,
    encode_laps,
    encode_program_head,
    encode_step,
    parse,
)

STEP_END_NAMES = ("time", "lap", "skip", "stop")
SESSION_END_NAMES = ("finished", "stopped", "power_lost")


def read_laps(buf, out, into):
    """Append the laps of the record parse() just filled `out` from to list `into`."""
    pos = out[7]
    for _ in range(out[6]):
        lap, pos = varint.get(buf, pos, len(buf), "lap_ms")
        into.append(lap)


class StoredStep:
    """One recorded step: kind, why it ended (END_TIME..END_STOP), planned and actual."""

    def __init__(self, index, kind, end_reason, planned, elapsed_ms, laps_ms=None):
        self.index = index
        self.kind = kind
        self.end_reason = end_reason
        self.planned = planned  # the program's value: s, m, or estimated s (open)
        self.elapsed_ms = elapsed_ms
        self.laps_ms = laps_ms if laps_ms is not None else []

    @property
    def kind_name(self):
        return KIND_NAMES[self.kind]

    @property
    def end_reason_name(self):
        return STEP_END_NAMES[self.end_reason]

    def _key(self):
        return (
            self.index,
            self.kind,
            self.end_reason,
            self.planned,
            self.elapsed_ms,
            tuple(self.laps_ms),
        )

    def __eq__(self, other):
        return isinstance(other, StoredStep) and self._key() == other._key()

    def __repr__(self):
        return "StoredStep" + repr(self._key())


class StoredSession:
    """A session as stored on the device; end_reason is None while it is being recorded.
    `program`: the bytes of the program that ran (b"" when the session does not carry it:
    format 1, or nothing was installed), checked by whoever decodes them."""

    def __init__(
        self,
        session_id,
        program_id,
        start_wall_s,
        start_uptime_ms,
        steps=None,
        end_reason=None,
        total_ms=0,
        paused_ms=0,
        pauses=0,
        late_max_ms=0,
        late_mean_ms=0,
        program=b"",
    ):
        self.session_id = session_id
        self.program_id = program_id
        self.start_wall_s = start_wall_s  # 0: the device did not know the time
        self.start_uptime_ms = start_uptime_ms
        self.steps = steps if steps is not None else []
        self.end_reason = end_reason  # END_FINISHED..END_POWER_LOST, or None
        self.total_ms = total_ms
        self.paused_ms = paused_ms
        self.pauses = pauses
        self.late_max_ms = late_max_ms
        self.late_mean_ms = late_mean_ms
        self.program = program

    @property
    def complete(self):
        return self.end_reason is not None

    @property
    def step_count(self):
        return len(self.steps)

    @property
    def end_reason_name(self):
        return None if self.end_reason is None else SESSION_END_NAMES[self.end_reason]

    def _key(self):
        return (
            self.session_id,
            self.program_id,
            self.start_wall_s,
            self.start_uptime_ms,
            self.end_reason,
            self.total_ms,
            self.paused_ms,
            self.pauses,
            self.late_max_ms,
            self.late_mean_ms,
            bytes(self.program),
        )

    def __eq__(self, other):
        return (
            isinstance(other, StoredSession)
            and self._key() == other._key()
            and self.steps == other.steps
        )

    def __repr__(self):
        return "StoredSession(" + repr(self._key()) + ", steps=" + repr(self.steps) + ")"


def decode_session(data):
    """Bytes of a stored session -> StoredSession. Raises WireError(offset, field)."""
    end = len(data)
    out = [0] * OUT_LEN
    if end == 0:
        raise WireError("empty session", 0, "header")
    pos = parse(data, 0, end, out)
    if out[0] != REC_HEADER:
        raise WireError("a session must start with a header record", 0, "header")
    session = StoredSession(out[2], out[3], out[4], out[5])
    steps = session.steps
    laps_open = False  # the previous record was a step or laps record with a full lap list
    while pos < end:
        start = pos
        pos = parse(data, pos, end, out)
        rtype = out[0]
        if session.end_reason is not None:
            raise WireError("record after the end record", start, "end")
        if rtype == REC_PROGRAM:
            if pos > end:
                raise WireError("truncated program record", start, "program")
            if steps or session.program:
                raise WireError("a program record after the steps", start, "program")
            session.program = bytes(data[out[2] : pos])
        elif rtype == REC_STEP or rtype == REC_STEP_LAPS:
            step = StoredStep(out[3], out[1], out[2], out[4], out[5])
            if rtype == REC_STEP_LAPS:
                read_laps(data, out, step.laps_ms)
            steps.append(step)
        elif rtype == REC_LAPS:
            if not laps_open:
                raise WireError("laps record not after a full lap list", start, "laps")
            read_laps(data, out, steps[-1].laps_ms)
        elif rtype == REC_END:
            if out[7] != len(steps):
                raise WireError(
                    "end record counts " + str(out[7]) + " steps, found " + str(len(steps)),
                    start,
                    "step_count",
                )
            session.end_reason = out[1]
            session.total_ms = out[2]
            session.paused_ms = out[3]
            session.pauses = out[4]
            session.late_max_ms = out[5]
            session.late_mean_ms = out[6]
        else:
            raise WireError("a second header record", start, "header")
        laps_open = out[6] == LAPS_PER_RECORD and rtype != REC_END
    return session


def encode_session(session):
    """StoredSession -> the bytes the journal would have written for it."""
    buf = bytearray(MAX_RECORD)
    out = bytearray()
    n = encode_header(
        buf, session.session_id, session.program_id, session.start_wall_s, session.start_uptime_ms
    )
    out.extend(buf[:n])
    if session.program:
        n = encode_program_head(buf, len(session.program))
        out.extend(buf[:n])
        out.extend(session.program)
    for s in session.steps:
        n = encode_step(buf, s.index, s.kind, s.end_reason, s.planned, s.elapsed_ms, s.laps_ms)
        out.extend(buf[:n])
        first = LAPS_PER_RECORD
        while first < len(s.laps_ms):
            n = encode_laps(buf, s.laps_ms, first)
            out.extend(buf[:n])
            first += LAPS_PER_RECORD
    if session.end_reason is not None:
        n = encode_end(
            buf,
            session.end_reason,
            session.total_ms,
            session.paused_ms,
            session.pauses,
            session.late_max_ms,
            session.late_mean_ms,
            len(session.steps),
        )
        out.extend(buf[:n])
    return bytes(out)
