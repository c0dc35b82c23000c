# Test harness for the engine, run INSIDE the micropython binary (tests put this directory on
# MICROPYPATH). Also importable by CPython. Holds: a virtual 30-bit clock like a 32-bit
# board's ticks_ms, a recording stub of the journal interface, a driver that steps the clock
# from deadline to deadline with an autopilot pressing lap, and the plan-language examples of
# issue 2 built directly as wire Programs (not through the host parser).
from program_objects import pack

from repcue_fw import engine as _engine
from repcue_fw.wire.events import BTN_LAP, EV_CUE, EV_STEP_START
from repcue_fw.wire.host.events import cue_name
from repcue_fw.wire.host.program import (
    END_DISTANCE,
    END_OPEN,
    END_TIME,
    KIND_COOLDOWN,
    KIND_RECOVERY,
    KIND_REST,
    KIND_WARMUP,
    KIND_WORK,
    TARGET_EFFORT,
    TARGET_PACE,
    Program,
    Repeat,
    Step,
)


def Engine(program, program_id, clock, recorder=None, ghost=True):
    """The engine, handed a Program built in code: packed as the host's compiler would."""
    if isinstance(program, Program):
        program = pack(program)
    return _engine.Engine(program, program_id, clock, recorder, ghost)


PERIOD = 1 << 30  # ticks_ms period of a 32-bit board
MASK = PERIOD - 1
HALF = PERIOD >> 1
NEAR_WRAP = PERIOD - 5000


class VClock:
    """ticks_ms/ticks_add/ticks_diff with the 2**30 wrap of a 32-bit board; time only moves
    when the test says so."""

    def __init__(self, start=0):
        self.now = start & MASK

    def ticks_ms(self):
        return self.now

    def ticks_add(self, t, delta):
        return (t + delta) & MASK

    def ticks_diff(self, a, b):
        return ((a - b + HALF) & MASK) - HALF

    def advance(self, ms):
        self.now = (self.now + ms) & MASK

    def to(self, t):
        self.now = t & MASK


class JournalFull(Exception):
    pass


class ListRecorder:
    """The journal interface, recording every call as a tuple in self.calls."""

    def __init__(self, full=False, fail_steps=False):
        self.calls = []
        self.full = full
        self.fail_steps = fail_steps

    def begin_session(self, program_id, start_wall_s, start_uptime_ms):
        if self.full:
            raise JournalFull("only unsynced sessions left")
        self.calls.append(("begin", program_id, start_wall_s, start_uptime_ms))
        return 7

    def append_step(self, index, kind, end_reason, planned, elapsed_ms, laps_ms):
        if self.fail_steps:
            raise OSError(28)
        self.calls.append(("step", index, kind, end_reason, planned, elapsed_ms, list(laps_ms)))

    def end_session(self, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason):
        self.calls.append(
            ("end", total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason)
        )

    def steps(self):
        return [c for c in self.calls if c[0] == "step"]

    def end(self):
        for c in self.calls:
            if c[0] == "end":
                return c
        return None


class Log:
    """Listener keeping every event as (ms since the session start, code, a, b, due ms)."""

    def __init__(self, engine, clock):
        self.engine = engine
        self.clock = clock
        self.events = []
        engine.add_listener(self.on_event)

    def on_event(self, code, a, b):
        e = self.engine
        t0 = e.start_ticks
        c = self.clock
        self.events.append((c.ticks_diff(c.now, t0), code, a, b, c.ticks_diff(e.due, t0)))

    def cue_lines(self):
        out = []
        for ms, code, a, b, _due in self.events:
            if code == EV_CUE:
                out.append(str(ms) + " " + cue_name(a) + " " + str(b))
        return out

    def step_starts(self):
        return [(ms, a) for ms, code, a, _b, _d in self.events if code == EV_STEP_START]


def autopilot_ms(step, index):
    """When the autopilot presses lap in a distance or open step, in ms after its start:
    around the target pace (a little behind or ahead by turns), 4:00/km without a pace,
    the estimate or 60 s for an open step. None for a time step."""
    if step.end == END_TIME:
        return None
    if step.end == END_DISTANCE:
        if step.target_type == TARGET_PACE and step.target_value > 0:
            return step.value * step.target_value // 10 + (index % 3 - 1) * 1500
        return step.value * 240
    return step.value * 1000 if step.value else 60000


def drive(engine, clock, presses=(), pilot=True, jitter=None, limit_ms=86400000):
    """Step the virtual clock from event to event until the session ends (or limit_ms after
    its start): deadlines (polled exactly on time, or `jitter(k)` ms late), scripted presses
    [(ms since the session start, button)], and autopilot laps."""
    start = engine.start_ticks
    i = 0
    k = 0
    while engine.running:
        best = None
        what = 0  # 1 deadline, 2 scripted press, 3 pilot
        dl = engine.next_deadline()
        if dl is not None:
            best = dl
            what = 1
        if i < len(presses):
            t = clock.ticks_add(start, presses[i][0])
            if best is None or clock.ticks_diff(t, best) < 0:
                best = t
                what = 2
        if pilot and not engine.paused:
            lap = autopilot_ms(engine.step, engine.step_index)
            if lap is not None:
                t = clock.ticks_add(engine.step_start, lap)
                if best is None or clock.ticks_diff(t, best) < 0:
                    best = t
                    what = 3
        if best is None or clock.ticks_diff(best, start) > limit_ms:
            return False
        if clock.ticks_diff(best, clock.now) > 0:
            clock.to(best)
        if what == 1:
            if jitter is not None:
                clock.advance(jitter(k))
                k += 1
            engine.poll(clock.now)
        elif what == 2:
            engine.press(presses[i][1], clock.now)
            i += 1
        else:
            engine.press(BTN_LAP, clock.now)
    return True


def session(
    program,
    start=0,
    presses=(),
    pilot=True,
    recorder=None,
    ghost=True,
    jitter=None,
    program_id=0x1234,
):
    """Build an engine on a fresh virtual clock, start it, drive it to the end."""
    clock = VClock(start)
    rec = recorder if recorder is not None else ListRecorder()
    engine = Engine(program, program_id, clock, rec, ghost)
    log = Log(engine, clock)
    engine.start(clock.now)
    drive(engine, clock, presses, pilot, jitter)
    return engine, clock, rec, log


# -- the plan-language examples of issue 2, as the host would compile them -----------------
PACE_MILE = 2000  # 3:20/km, tenths of a second per km
PACE_3K = 2100
PACE_5K = 2250
PACE_THRESHOLD = 2400
HARD = 2  # EFFORT_NAMES index
EASY = 4
JOG = 6
WALK = 7


def work_t(s, effort=0):
    if effort:
        return Step(KIND_WORK, END_TIME, s, TARGET_EFFORT, 0, effort)
    return Step(KIND_WORK, END_TIME, s)


def work_d(m, pace_name=0, pace=0):
    if pace_name:
        return Step(KIND_WORK, END_DISTANCE, m, TARGET_PACE, pace_name, pace)
    return Step(KIND_WORK, END_DISTANCE, m)


def rec_t(s, effort=0, kind=KIND_RECOVERY):
    if effort:
        return Step(kind, END_TIME, s, TARGET_EFFORT, 0, effort)
    return Step(kind, END_TIME, s)


def rec_d(m, effort=JOG):
    return Step(KIND_RECOVERY, END_DISTANCE, m, TARGET_EFFORT, 0, effort)


def _fartlek():
    # "fartlek 20min: 8 surges 30-90s, seed 7", resolved: easy running around 8 surges.
    surges = (45, 80, 30, 65, 90, 35, 60, 50)
    easies = (90, 100, 95, 80, 100, 90, 100, 90)
    nodes = []
    for j in range(8):
        nodes.append(rec_t(easies[j], EASY))
        nodes.append(work_t(surges[j], HARD))
    return Program(nodes)


def _pyramid():
    nodes = []
    dists = (200, 400, 600, 800, 600, 400, 200)
    for j in range(len(dists)):
        if j:
            nodes.append(rec_d(dists[j - 1]))
        nodes.append(work_d(dists[j], 3, PACE_5K))
    return Program(nodes)


def _time_ladder():
    reps = (120, 240, 360, 240, 120)
    jogs = (60, 90, 120, 90)
    nodes = []
    for j in range(len(reps)):
        if j:
            nodes.append(rec_t(jogs[j - 1], JOG))
        nodes.append(Step(KIND_WORK, END_TIME, reps[j], TARGET_PACE, 3, PACE_5K))
    return Program(nodes)


def examples():
    """[(name, plan text, Program)] in a fixed order."""
    return [
        (
            "wu_8x1min_cd",
            "10min wu, 8x(1min hard, 1min easy), 10min cd",
            Program(
                [
                    Step(KIND_WARMUP, END_TIME, 600),
                    Repeat(8, [work_t(60, HARD), rec_t(60, EASY)]),
                    Step(KIND_COOLDOWN, END_TIME, 600),
                ]
            ),
        ),
        (
            "6x800_5k_jog",
            "6x800m @5k w/ 90s jog",
            Program([Repeat(6, [work_d(800, 3, PACE_5K), rec_t(90, JOG)])]),
        ),
        ("6x800_rec", "6 x 800, 90s rec", Program([Repeat(6, [work_d(800), rec_t(90)])])),
        (
            "10x200_mile",
            "10x200m @mile / 200m jog",
            Program([Repeat(10, [work_d(200, 1, PACE_MILE), rec_d(200)])]),
        ),
        (
            "3x4x400_3k",
            "3x(4x400m @3k, 60s) 3min between sets",
            Program(
                [
                    Repeat(
                        3,
                        [
                            Repeat(4, [work_d(400, 2, PACE_3K), rec_t(60)], True),
                            rec_t(180, 0, KIND_REST),
                        ],
                        True,
                    )
                ]
            ),
        ),
        ("pyramid_5k", "200-400-600-800-600-400-200 @5k w/ equal jog", _pyramid()),
        ("time_ladder_5k", "2-4-6-4-2min @5k w/ 1-1.5-2-1.5min jog", _time_ladder()),
        (
            "40_20x20min",
            "40/20 x 20min",
            Program([Repeat(20, [work_t(40), rec_t(20)])], countdown_s=2),
        ),
        ("fartlek_seed7", "fartlek 20min: 8 surges 30-90s, seed 7", _fartlek()),
        (
            "tempo_threshold",
            "tempo 20min @threshold",
            Program(
                [Step(KIND_WORK, END_TIME, 1200, TARGET_PACE, 7, PACE_THRESHOLD)],
                countdown_s=5,
                halfway=True,
            ),
        ),
        (
            "hills_8x45",
            "hills 8x45s hard, jog down",
            Program(
                [
                    Repeat(
                        8,
                        [work_t(45, HARD), Step(KIND_RECOVERY, END_OPEN, 0, TARGET_EFFORT, 0, JOG)],
                    )
                ]
            ),
        ),
        (
            "strides_6x20",
            "strides 6x20s / 60s walk",
            Program([Repeat(6, [work_t(20), rec_t(60, WALK)], True)], halfway=True),
        ),
        (
            "2x10x200",
            "2x(10x200m / 200m jog) 5min between",
            Program(
                [
                    Repeat(
                        2,
                        [Repeat(10, [work_d(200), rec_d(200)], True), rec_t(300, 0, KIND_REST)],
                        True,
                    )
                ]
            ),
        ),
    ]


def two_hour_program():
    """A 2-hour session with a change every 30 s: 15 min warm-up, 3 blocks of
    (25 x (30 s on, 30 s off)) with 5 min between, 20 min cool-down. 7200 s in all."""
    block = Repeat(25, [work_t(30), rec_t(30)])
    return Program(
        [
            Step(KIND_WARMUP, END_TIME, 900),
            Repeat(3, [block, rec_t(300, 0, KIND_REST)], True),
            Step(KIND_COOLDOWN, END_TIME, 1200),
        ],
        halfway=True,
    )
