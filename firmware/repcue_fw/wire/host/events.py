# The codes of wire/events.py with the names a host shows for them.
from repcue_fw.wire.events import *  # noqa: F403  (the board's side, and the names below)
from repcue_fw.wire.host.program import KIND_NAMES
from repcue_fw.wire.host.records import SESSION_END_NAMES, STEP_END_NAMES

# Indexed by cue id (index 0 is unused so ids stay 1-based).
CUE_NAMES = (
    "",
    "countdown",
    "work",
    "recovery",
    "halfway",
    "last_rep",
    "lap",
    "pause",
    "resume",
    "finish",
    "refused",
    "ghost",
    "pair",
    "warmup",
    "cooldown",
)

EVENT_NAMES = {
    1: "session start",
    2: "step start",
    3: "cue",
    4: "lap",
    5: "pause",
    6: "resume",
    7: "finish",
    8: "step end",
    9: "refused",
    10: "record error",
}


def cue_name(cue_id):
    """The name of a cue id, e.g. 'work'; '?' for an unknown one."""
    if 0 < cue_id < len(CUE_NAMES):
        return CUE_NAMES[cue_id]
    return "?"


# EV_REFUSED's a: why a start was refused (docs/protocol.md: 0 the journal, e.g. full)
REFUSED_NAMES = ("journal", "no program", "no memory")


def _name(names, i):
    return names[i] if 0 <= i < len(names) else "?" + str(i)


def _s(ms):
    return "%.1fs" % (ms / 1000)


def describe_event(code, a, b):
    """An engine event in words, its a and b named by meaning (wire/events.py), e.g.
    'lap step=3 split=72.4s'."""
    if code == EV_SESSION_START:  # noqa: F405
        fields = "session=%d steps=%d" % (a, b)
    elif code == EV_STEP_START:  # noqa: F405
        fields = "step=%d kind=%s" % (a, _name(KIND_NAMES, b))
    elif code == EV_CUE:  # noqa: F405
        fields = "cue=%s step=%d" % (cue_name(a), b)
    elif code == EV_LAP:  # noqa: F405
        fields = "step=%d split=%s" % (a, _s(b))
    elif code == EV_PAUSE:  # noqa: F405
        fields = "step=%d into_step=%s" % (a, _s(b))
    elif code == EV_RESUME:  # noqa: F405
        fields = "step=%d paused=%s" % (a, _s(b))
    elif code == EV_FINISH:  # noqa: F405
        fields = "reason=%s total=%s" % (_name(SESSION_END_NAMES, a), _s(b))
    elif code == EV_STEP_END:  # noqa: F405
        fields = "step=%d by=%s" % (a, _name(STEP_END_NAMES, b))
    elif code == EV_REFUSED:  # noqa: F405
        fields = "by=%s" % _name(REFUSED_NAMES, a)
    elif code == EV_RECORD_ERROR:  # noqa: F405
        fields = "step=%d" % a
    else:
        fields = "a=%d b=%d" % (a, b)
    return EVENT_NAMES.get(code, "event %d" % code) + "  " + fields
