# The codes of wire/events.py with the names a host shows for them.
from repcue_fw.wire.events import *  # noqa: F403  (the board's side, and the names below)

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
