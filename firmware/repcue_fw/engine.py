# The workout engine: pure logic over a clock and button presses. No I/O of its own: it
# tells listeners what happens (listener(code, a, b), small ints only) and hands records to
# the recorder (the journal). The runner drives it: poll() at each deadline, press() on a
# button. It runs the program from its bytes (see runnable()); engine.step, the current step,
# is one wire.program.Node rewritten in place at every change: copy what you keep.
#
# Timing. Every change is scheduled on an absolute deadline: a step that ends on time ends at
# exactly step_start + its planned ms, and the next step starts at that exact tick, not at
# the moment poll() noticed. So the k-th change is at session start + the sum of the planned
# times before it (plus pauses, plus the actual times of steps ended by a button), and a late
# poll never moves a later deadline: zero cumulative drift. Deadlines are kept relative to the
# current step's start (rather than the session's) only so tick deltas stay small on a 32-bit
# board; the arithmetic is the same. Ticks are only combined with clock.ticks_add/ticks_diff,
# so the board's wrap (2**30 ms on a 32-bit port) is harmless. Everything is integer ms.
#
# Cues (repcue_fw.cues) per step:
#   start       work -> CUE_WORK (or CUE_LAST_REP, see below); warm-up -> CUE_WARMUP,
#               cool-down -> CUE_COOLDOWN; recovery and rest -> CUE_RECOVERY.
#               The start cue of the next step IS the change cue; after the last step, finish.
#   countdown, halfway, ghost: deadlines inside a step, laid out by repcue_fw.schedule (its
#               header says exactly when); countdown N s before the end of TIME steps, ghost
#               every 100 m of target pace in DISTANCE steps (when ghost is on).
#   last rep    decided here: the LAST WORK STEP of an outermost repeat block (its final
#               round, every nested repeat in its final round, no work step after it in the
#               block, at least one enclosing repeat with 2+ rounds) starts with CUE_LAST_REP
#               instead of CUE_WORK, if program.last_rep. For 6x800 it is the 6th 800; for
#               3x(4x400, 60s) it is the 12th 400. A block without work steps has none.
#   lap         a lap press inside a TIME step (recorded, step continues).
#   pause / resume / finish / refused (the journal would not begin a session).
# Minor cues (countdown, halfway, ghost) more than _STALE_MS late are not played (a stalled
# board catching up should not burr), but still count in the lateness figures.
#
# Buttons (press(button, now)): START starts an idle engine or resumes a paused one. PAUSE
# pauses or resumes. LAP ends a distance or open step (END_LAP; the next step's start cue
# confirms it), or records a lap inside a time step. SKIP ends the step (END_SKIP). STOP
# (long press) ends the step (END_STOP) and the session (stopped), saving both. While paused
# only START/PAUSE (resume) and STOP act; all deadlines shift by the pause. Silent while paused.
#
# Records: begin_session at start (if it raises, e.g. JournalFull, the refused cue plays, the
# engine stays idle and the error propagates to the caller); append_step when a step ends
# (elapsed_ms is active time, pauses excluded; laps_ms are the split of each lap press
# inside a time step: active ms since the previous press or the step start); end_session at
# the end (total_ms = active + paused ms). A recorder failure mid-session does not stop the
# cues: it is counted in record_errors and announced with EV_RECORD_ERROR.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.schedule import NX_END, Schedule
from repcue_fw.wire import events as ev
from repcue_fw.wire import program as wp
from repcue_fw.wire import records
from repcue_fw.wire.program import ProgramBytes
from repcue_fw.wire.steps import Cursor, EngineError, expected_ms, planned_steps

# Step end reasons (END_TIME, END_LAP, END_SKIP, END_STOP) and session end reasons
# (END_FINISHED, END_STOPPED) are the journal's, from wire/records.py.

_STALE_MS = const(500)
_MAX_LAPS = const(255)  # laps recorded per step; more are cued but not stored

_IDLE = const(0)
_RUNNING = const(1)
_PAUSED = const(2)
_DONE = const(3)


def runnable(program):
    """What the engine runs: a ProgramBytes as it is, or program bytes, checked (WireError
    if they do not decode)."""
    if isinstance(program, ProgramBytes):
        return program
    return ProgramBytes(program)


class Engine:
    def __init__(self, program, program_id, clock, recorder=None, ghost=True):
        """program: see runnable(); program_id: what the recorder stores (its CRC-32)."""
        program = runnable(program)
        self.program = program  # countdown_s, halfway, last_rep: the program-wide settings
        self.program_id = program_id
        self.clock = clock
        self.recorder = recorder
        self.ghost = ghost
        self.planned_steps = planned_steps(program)
        self._listeners = []
        self._cursor = Cursor(program)
        self._state = _IDLE
        self.running = False  # a session is in progress (paused included)
        self.paused = False
        self.finished = False
        self.session_id = -1
        self.end_reason = -1
        self.start_ticks = 0
        self.due = 0  # tick the event being announced was due at (now for a button)
        self.step = None
        self.step_index = -1
        self.step_start = 0  # tick the current step started, moved later by pauses
        self.step_expected_ms = 0
        self._sched = Schedule()
        self._next_ticks = 0  # tick of the schedule's next deadline, if it has one
        self._lap_at = 0  # active ms into the step of the last lap press
        self._laps = []
        self._pause_at = 0
        self.active_ms = 0  # active ms of the steps already ended
        self.paused_ms = 0
        self.pauses = 0
        self.late_max_ms = 0
        self._late_sum = 0
        self.late_n = 0
        self.record_errors = 0
        self.record_error = None

    # -- listeners -------------------------------------------------------------------------
    def add_listener(self, fn):
        """fn(code, a, b) is called for every EV_* event, in order, synchronously."""
        self._listeners.append(fn)

    def remove_listener(self, fn):
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, code, a, b):
        for fn in self._listeners:
            fn(code, a, b)

    def _cue(self, cue_id):
        self._emit(ev.EV_CUE, cue_id, self.step_index)

    # -- figures ---------------------------------------------------------------------------
    def late_mean_ms(self):
        if self.late_n == 0:
            return 0
        return (self._late_sum + self.late_n // 2) // self.late_n

    def total_ms(self):
        return self.active_ms + self.paused_ms

    def next_deadline(self):
        """The tick of the next scheduled event, or None (idle, paused, finished, or a step
        that only a button ends)."""
        if self._state != _RUNNING or self._sched.offset < 0:
            return None
        return self._next_ticks

    # -- driving ---------------------------------------------------------------------------
    def start(self, now, wall_s=0, uptime_ms=None):
        """Begin the session at tick `now`. Returns the session id. Raises what the recorder's
        begin_session raises (after the refused cue), or EngineError if already started."""
        if self._state != _IDLE:
            raise EngineError("the session has already started", "state")
        self.due = now
        sid = 0
        if self.recorder is not None:
            try:
                sid = self.recorder.begin_session(
                    self.program_id, wall_s, now if uptime_ms is None else uptime_ms
                )
            except Exception:
                self._emit(ev.EV_CUE, ev.CUE_REFUSED, -1)
                self._emit(ev.EV_REFUSED, 0, 0)
                raise
        self.session_id = sid
        self.start_ticks = now
        self._state = _RUNNING
        self.running = True
        self._emit(ev.EV_SESSION_START, sid, self.planned_steps)
        step = self._cursor.next()
        self._begin_step(step, now)
        self._emit(ev.EV_STEP_START, 0, step.kind)
        return sid

    def poll(self, now):
        """Handle everything due at or before tick `now`; return how many events fired."""
        if self._state != _RUNNING:
            return 0
        fired = 0
        clock = self.clock
        sched = self._sched
        while sched.offset >= 0:
            due = self._next_ticks
            late = clock.ticks_diff(now, due)
            if late < 0:
                break
            if late > self.late_max_ms:
                self.late_max_ms = late
            self._late_sum += late
            self.late_n += 1
            fired += 1
            self.due = due
            if sched.kind == NX_END:
                self._change(due, records.END_TIME)  # lays out the next step's deadlines
                continue
            cue_id = sched.take()
            if sched.offset >= 0:
                self._next_ticks = clock.ticks_add(self.step_start, sched.offset)
            if late <= _STALE_MS:
                self._cue(cue_id)
        return fired

    def press(self, button, now):
        """A logical button press at tick `now`. Returns True if it did something."""
        state = self._state
        if state == _IDLE:
            if button == ev.BTN_START:
                self.start(now)
                return True
            return False
        if state == _DONE:
            return False
        self.poll(now)  # what was due before the press happens first
        state = self._state
        if state == _DONE:
            return False
        self.due = now
        if button == ev.BTN_STOP:
            self._stop(now)
            return True
        if state == _PAUSED:
            if button == ev.BTN_PAUSE or button == ev.BTN_START:
                self._resume(now)
                return True
            return False
        if button == ev.BTN_PAUSE:
            self._pause(now)
        elif button == ev.BTN_LAP:
            self._lap(now)
        elif button == ev.BTN_SKIP:
            self._change(now, records.END_SKIP)
        else:
            return False
        return True

    # -- buttons ---------------------------------------------------------------------------
    def _pause(self, now):
        self._state = _PAUSED
        self.paused = True
        self._pause_at = now
        self.pauses += 1
        self._cue(ev.CUE_PAUSE)
        self._emit(ev.EV_PAUSE, self.step_index, self.clock.ticks_diff(now, self.step_start))

    def _close_pause(self, now):
        held = self.clock.ticks_diff(now, self._pause_at)
        self.paused_ms += held
        self.step_start = self.clock.ticks_add(self.step_start, held)  # shifts every deadline
        if self._sched.offset >= 0:
            self._next_ticks = self.clock.ticks_add(self.step_start, self._sched.offset)
        self._state = _RUNNING
        self.paused = False
        return held

    def _resume(self, now):
        held = self._close_pause(now)
        self._cue(ev.CUE_RESUME)
        self._emit(ev.EV_RESUME, self.step_index, held)

    def _lap(self, now):
        step = self.step
        if step.end != wp.END_TIME:
            self._change(now, records.END_LAP)
            return
        at = self.clock.ticks_diff(now, self.step_start)
        split = at - self._lap_at
        self._lap_at = at
        if len(self._laps) < _MAX_LAPS:
            self._laps.append(split)
        self._cue(ev.CUE_LAP)
        self._emit(ev.EV_LAP, self.step_index, split)

    def _stop(self, now):
        if self._state == _PAUSED:
            self._close_pause(now)
        elapsed = self.clock.ticks_diff(now, self.step_start)
        self._finish(
            records.END_STOP, elapsed, records.END_STOPPED, self.step.kind, self.step.value
        )

    # -- steps -----------------------------------------------------------------------------
    def _change(self, at, reason):
        # The current step ends at tick `at`; the next starts at that same tick.
        elapsed = self.clock.ticks_diff(at, self.step_start)
        # the cursor rewrites the step in place: keep what the record needs first
        ended_kind = self.step.kind
        ended_value = self.step.value
        step = self._cursor.next()
        if step is None:
            self._finish(reason, elapsed, records.END_FINISHED, ended_kind, ended_value)
            return
        ended_index = self.step_index
        self.active_ms += elapsed
        self._begin_step(step, at)  # the change cue goes out first, flash writes last
        self._emit(ev.EV_STEP_END, ended_index, reason)
        self._emit(ev.EV_STEP_START, self.step_index, step.kind)
        self._record_step(ended_index, ended_kind, ended_value, reason, elapsed)

    def _begin_step(self, step, at):
        # Make `step` current from tick `at`, lay out its deadlines and play its start cue.
        self.step = step
        self.step_index += 1
        self.step_start = at
        self.step_expected_ms = expected_ms(step)
        self._lap_at = 0
        sched = self._sched
        sched.plan(step, self.program, self.ghost)
        if sched.offset >= 0:
            self._next_ticks = self.clock.ticks_add(at, sched.offset)
        kind = step.kind
        if kind == wp.KIND_WORK:
            if self.program.last_rep and self._cursor.last_rep():
                cue_id = ev.CUE_LAST_REP
            else:
                cue_id = ev.CUE_WORK
        elif kind == wp.KIND_WARMUP:
            cue_id = ev.CUE_WARMUP
        elif kind == wp.KIND_COOLDOWN:
            cue_id = ev.CUE_COOLDOWN
        else:
            cue_id = ev.CUE_RECOVERY
        self._cue(cue_id)

    def _finish(self, reason, elapsed, session_reason, kind, value):
        index = self.step_index
        self.active_ms += elapsed
        self._state = _DONE
        self.running = False
        self.paused = False
        self.finished = True
        self.end_reason = session_reason
        self._sched.clear()
        self._cue(ev.CUE_FINISH)
        self._emit(ev.EV_STEP_END, index, reason)
        self._emit(ev.EV_FINISH, session_reason, self.total_ms())
        self._record_step(index, kind, value, reason, elapsed)
        rec = self.recorder
        if rec is not None:
            try:
                rec.end_session(
                    self.total_ms(),
                    self.paused_ms,
                    self.pauses,
                    self.late_max_ms,
                    self.late_mean_ms(),
                    session_reason,
                )
            except Exception as e:
                self._record_failed(e, index)

    def _record_step(self, index, kind, value, reason, elapsed):
        rec = self.recorder
        if rec is not None:
            try:
                rec.append_step(index, kind, reason, value, elapsed, self._laps)
            except Exception as e:
                self._record_failed(e, index)
        if self._laps:
            self._laps = []  # the recorder may keep the list it was given

    def _record_failed(self, err, index):
        self.record_errors += 1
        self.record_error = err
        self._emit(ev.EV_RECORD_ERROR, index, 0)
