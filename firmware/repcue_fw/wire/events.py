# Codes that cross the wire: the engine's events (EVENT frames carry code, a, b exactly as
# the engine's listeners get them), the cues (EV_CUE's a) and the logical buttons (CONFIG's
# button map, the sim board's control channel). docs/protocol.md ("Events") is the spec.
# The board and the host both take them from here; what each cue feels like is cues.py.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


# Logical buttons: what a press means, whatever physical button made it.
BTN_START = const(1)
BTN_PAUSE = const(2)  # pause-resume; starts a session when none runs
BTN_LAP = const(3)
BTN_SKIP = const(4)
BTN_STOP = const(5)  # stop and save

# Engine events: listener(code, a, b), small ints only.
EV_SESSION_START = const(1)  # a session id, b planned step count
EV_STEP_START = const(2)  # a step index, b kind
EV_CUE = const(3)  # a cue id, b step index (engine.due: the tick it was scheduled for)
EV_LAP = const(4)  # a step index, b the lap's split: active ms since the last lap
EV_PAUSE = const(5)  # a step index, b active ms since the step started
EV_RESUME = const(6)  # a step index, b ms the pause lasted
EV_FINISH = const(7)  # a session end reason, b total ms
EV_STEP_END = const(8)  # a step index, b step end reason
# a: why a start was refused: 0 the recorder (the engine); the runner's 1 no program, 2 the
# session could not be set up (out of memory)
EV_REFUSED = const(9)  # b 0
EV_RECORD_ERROR = const(10)  # a step index, b 0: the recorder raised

# Cues (EV_CUE a): what the runner feels. Names: wire/host/events.py; patterns: cues.py.
CUE_COUNTDOWN = const(1)
CUE_WORK = const(2)
CUE_RECOVERY = const(3)
CUE_HALFWAY = const(4)
CUE_LAST_REP = const(5)
CUE_LAP = const(6)
CUE_PAUSE = const(7)
CUE_RESUME = const(8)
CUE_FINISH = const(9)
CUE_REFUSED = const(10)
CUE_GHOST = const(11)
CUE_PAIR = const(12)
CUE_WARMUP = const(13)
CUE_COOLDOWN = const(14)
