# The virtual runner: when a distance or open step starts, it presses lap when a runner at
# the step's target pace would reach the end, optionally with noise. With surge, tire and
# drift it runs like a person: work a little fast at first, slower with every work step
# (time steps included: a fartlek's surges tire too), recoveries longer with every one
# (deterministic from the seed, as the noise). It lives on the sim
# board, so its presses are timed on the board's own clock: exact on the stepped clock,
# the same on an accelerated one. Switched on by the sim config ("autopilot") or the
# control op {"op": "autopilot", ...} (repcue.sim.autopilot on the host side).
import random

from repcue_fw.wire import events as ev
from repcue_fw.wire import program as wp


class Autopilot:
    def __init__(self, board, options):
        # options: noise (fraction, e.g. 0.05 for +-5 % of the step's time, roughly normal),
        # seed, pace_s_per_km (for distance steps without a known pace target),
        # open_s (for open steps without an estimate), surge (work this fraction fast),
        # tire (each work step this fraction slower than the one before), drift (each
        # recovery or rest this fraction longer than the one before), pace (every work step
        # takes this many times its time: 1.05 a runner 5 % slower than target)
        self.board = board
        self.noise = float(options.get("noise", 0))
        self.pace_s_per_km = int(options.get("pace_s_per_km", 240))
        self.open_s = int(options.get("open_s", 60))
        self.surge = float(options.get("surge", 0))
        self.tire = float(options.get("tire", 0))
        self.drift = float(options.get("drift", 0))
        self.pace = float(options.get("pace", 1))
        self.works = 0  # work steps started so far (the runner's tiredness)
        self.rests = 0  # recovery and rest steps started so far
        random.seed(int(options.get("seed", 1)))
        self.presses = 0

    def duration_ms(self, engine):
        step = engine.step
        ms = engine.step_expected_ms
        if ms <= 0:
            if step.end == wp.END_DISTANCE:
                ms = step.value * self.pace_s_per_km  # m * s/km == ms
            else:
                ms = self.open_s * 1000
        kind = step.kind
        if kind == wp.KIND_WORK:
            ms = int(ms * self.pace * (1 - self.surge + self.tire * (self.works - 1)))
        elif kind == wp.KIND_RECOVERY or kind == wp.KIND_REST:
            ms = int(ms * (1 + self.drift * (self.rests - 1)))
        if self.noise:
            # sum of three uniforms: a bell curve on [-1.5, 1.5] with sd 0.5
            g = random.random() + random.random() + random.random() - 1.5
            ms = int(ms * (1 + 2 * self.noise * g))
        return ms if ms > 1 else 1

    def step_started(self, engine):
        """Called by the board at EV_STEP_START; schedules the lap press if one is due."""
        step = engine.step
        if step is None:
            return
        if step.kind == wp.KIND_WORK:
            self.works += 1
        elif step.kind == wp.KIND_RECOVERY or step.kind == wp.KIND_REST:
            self.rests += 1
        if step.end != wp.END_DISTANCE and step.end != wp.END_OPEN:
            return
        board = self.board
        clock = board.clock
        # virtual ms of the step's start tick (the event may be handled a moment later)
        start_ms = clock.elapsed_ms() - clock.ticks_diff(clock.ticks_ms(), engine.step_start)
        at_ms = start_ms + self.duration_ms(engine)
        board.at(at_ms, self._press, engine.session_id, engine.step_index)

    def _press(self, session_id, step_index, ticks):
        runner = self.board.runner
        engine = runner.engine if runner is not None else None
        # only if that step is still running: a skip or stop made this press moot
        if engine is None or not engine.running:
            return
        if engine.session_id != session_id or engine.step_index != step_index:
            return
        self.presses += 1
        self.board.buttons.push(ev.BTN_LAP, ticks)
