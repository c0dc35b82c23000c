# The cue vocabulary: which cues exist and how each one feels.
#
# A pattern is data: a tuple of milliseconds, alternately ON and OFF, starting with ON
# (an odd length ends on ON). Boards play it on the vibration motor and/or the buzzer
# without blocking (board.cue(cue_id, pattern)); a new cue replaces the one playing.
#
# Designed to be told apart by feel alone, without looking:
#   countdown  one short tick a second before a change (the change itself is the next cue)
#   work       one long buzz: go
#   recovery   two short buzzes: ease off (also rest starts)
#   halfway    three quick ticks
#   last_rep   long-long: the last work rep of a repeat block starts (played instead of work)
#   lap        one very short blip: lap accepted
#   pause      falling: long then short
#   resume     rising: short then long
#   finish     long-long-long: the session is over (finished or stopped and saved)
#   refused    a rapid burr of six: cannot start (journal full of unsynced sessions)
#   ghost      a faint double blip: the pace ghost passed another 100 m
#   pair       four quick ticks and a buzz: a host asks to pair over USB; press any button
#              to accept (boards configured with "pair_confirm")
#   warmup     two slow, soft buzzes: easy running starts, no hurry
#   cooldown   three slow, soft buzzes: the hard part is over, wind down
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


# Indexed by cue id (wire/events.py CUE_*; index 0 is unused so ids stay 1-based).
PATTERNS = (
    (),
    (80,),
    (700,),
    (150, 120, 150),
    (60, 90, 60, 90, 60),
    (500, 150, 500),
    (40,),
    (400, 150, 120),
    (120, 150, 400),
    (500, 150, 500, 150, 500),
    (50, 40, 50, 40, 50, 40, 50, 40, 50, 40, 50),
    (25, 60, 25),
    (40, 60, 40, 60, 40, 60, 40, 60, 300),
    (250, 300, 250),
    (250, 300, 250, 300, 250),
)

_COUNT = const(14)  # highest cue id


def pattern(cue_id):
    """The on/off ms pattern of a cue id; () for an unknown id (plays nothing)."""
    if 0 < cue_id <= _COUNT:
        return PATTERNS[cue_id]
    return ()


def duration_ms(cue_id):
    """How long a cue's pattern lasts in ms."""
    total = 0
    for ms in pattern(cue_id):
        total += ms
    return total
