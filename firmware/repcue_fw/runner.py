# The runner: drives an Engine on the board's clock inside MicroPython's asyncio loop.
#
#   runner = Runner(board, journal, app.program_source)   # the recorder, the program's source
#   runner.add_listener(fn)                  # fn(code, a, b) for every engine EV_* event
#   asyncio.create_task(runner.run())        # the timing loop
#   runner.press(BTN_LAP, ticks) / runner.start() / runner.stop()   # from button or link tasks
#   runner.schedule(ticks, wall_s)           # start at that tick (a START with an instant)
# (app.press_buttons feeds it the board's buttons.)
#
# A press is timed at the tick the board saw it (buttons.last_ticks: the thumb going down, not
# the moment a task got round to it), clamped to [the engine's last event, now]: the engine
# cannot act before what it already announced. When a session ends the runner drops its
# engine, so the decoded program and the cursor are garbage until the next start; the
# session's figures stay in last_session.
#
# The loop sleeps until the engine's next absolute deadline with board.sleep_ms, then reads the
# clock again and only polls once the deadline has really passed: sleep_ms can wake up to
# ~0.6 ms early, and a button press may have moved the deadline while it slept (a press
# cancels the sleep, see _poke). Cues go to board.cue(cue_id, pattern) the moment the engine
# announces them, before any listener and before the journal writes.
#
# A scheduled start (schedule(ticks, wall_s): a START carrying an instant) is one more
# deadline: the loop wakes _PREPARE_MS ahead to collect and set the session up, then at its
# tick starts the engine anchored at that tick, so the start cue waits only for the journal.
#
# A long wait is slept in two goes, the first ending ahead of the deadline by 1/128 of the
# wait + 2 ms: an OS may stretch a sleep by a fraction of its length (Linux's poll() timer
# slack is 0.1 % of the timeout, so 2 ms on a 2 s wait, up to 100 ms), and only the last,
# short sleep decides the lateness. One extra wake-up per deadline on a board.
#
# Hot path (sleep -> poll -> cue): the runner allocates nothing itself; its bound callback is
# made once, patterns are constant tuples, event arguments are small ints. The board's
# sleep_ms should return asyncio.sleep_ms(ms) directly (that object is reused by asyncio)
# rather than be an `async def`, whose call allocates a generator per sleep.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import gc

from repcue_fw import cues
from repcue_fw.engine import Engine, EngineError
from repcue_fw.wire import events as ev

_REFUSED_NO_PROGRAM = const(1)  # EV_REFUSED a: no program installed (the engine sends a=0: journal)
_REFUSED_SETUP = const(2)  # EV_REFUSED a: the session could not be set up (e.g. out of memory)
_COARSE_MS = const(64)  # waits longer than this are slept in two goes (see the header)
_PREPARE_MS = const(200)  # a scheduled start collects and decodes its program this early


class Runner:
    def __init__(
        self,
        board,
        journal,
        program_source,
        engine_factory=None,
        ghost=True,
        wall_clock=None,
    ):
        """board: the HAL (ticks_ms/ticks_add/ticks_diff, sleep_ms, cue, buttons).
        journal: the recorder handed to each engine (None: nothing is recorded).
        program_source(): the program to run as (ProgramBytes, program_id), or None.
        engine_factory(program, program_id, clock, recorder, ghost): defaults to Engine.
        wall_clock(): epoch seconds, or 0 while the device has not been told the time."""
        self.board = board
        self.journal = journal
        self._source = program_source
        self._factory = engine_factory if engine_factory is not None else Engine
        self.ghost = ghost
        self.wall_clock = wall_clock
        self.engine = None  # the running session's engine; None when no session runs
        # (session_id, end_reason, total_ms, late_max_ms, late_mean_ms) of the last session
        self.last_session = None
        self.last_error = None  # what the last button START could not do
        self.start_at = None  # the tick a scheduled start is due at (None: none pending)
        self._start_wall_s = 0
        self._ready = None  # its engine, set up _PREPARE_MS ahead (the start cue waits less)
        self._listeners = []
        self._callback = self._on_event  # bound once, reused by every engine
        self._wake = asyncio.Event()
        self._task = None
        self._sleeping = False
        self._poked = False
        self._closed = False

    # -- listeners -------------------------------------------------------------------------
    def add_listener(self, fn):
        """fn(code, a, b) for every EV_* event of every session, after the cue is started."""
        self._listeners.append(fn)

    def remove_listener(self, fn):
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _on_event(self, code, a, b):
        if code == ev.EV_CUE:
            self.board.cue(a, cues.pattern(a))
        for fn in self._listeners:
            fn(code, a, b)

    # -- control (from button and link tasks) ----------------------------------------------
    @property
    def active(self):
        """True while a session runs (paused included)."""
        return self.engine is not None and self.engine.running

    def schedule(self, ticks, wall_s):
        """Start a session at board tick `ticks` (wall clock `wall_s` then), replacing any
        start pending. Any other start, or a stop, cancels it."""
        self.start_at = ticks
        self._start_wall_s = wall_s
        self._ready = None
        self._poke()

    def start(self, wall_s=None, uptime_ms=None, ticks=None):
        """Start a session of the installed program now (or anchored at `ticks`, a tick
        just past); return its session id. Cancels a pending scheduled start.
        Raises EngineError (field "state": one is running; "program": none installed), what
        the journal's begin_session raises (JournalFull) or what setting the session up
        raises (MemoryError), after playing the refused cue."""
        if self.active:
            raise EngineError("a session is already running", "state")
        engine = self._ready if ticks is not None else None  # set up ahead of its tick
        self.start_at = None
        self._ready = None
        if engine is None:
            engine = self._prepare()
        engine.add_listener(self._callback)
        self.engine = engine  # before start(): the board's cue() reads engine.due
        if wall_s is None:
            wall_s = self.wall_clock() if self.wall_clock is not None else 0
        try:
            if ticks is None:
                ticks = self.board.ticks_ms()
            return engine.start(ticks, wall_s, uptime_ms)
        except Exception:
            self.engine = None  # refused: nothing runs, free the program
            raise
        finally:
            self._poke()

    def _prepare(self):
        # The session's objects live until it ends: collect first, so they are made in the
        # largest free blocks a fragmented heap has, not wedged between garbage.
        gc.collect()
        try:
            got = self._source()
            if got is not None:
                program, program_id = got
                engine = self._factory(program, program_id, self.board, self.journal, self.ghost)
        except Exception:
            self._refuse(_REFUSED_SETUP)  # e.g. out of memory: the runner must still feel it
            raise
        if got is None:
            self._refuse(_REFUSED_NO_PROGRAM)
            raise EngineError("no program installed", "program")
        return engine

    def _refuse(self, reason):
        self._on_event(ev.EV_CUE, ev.CUE_REFUSED, -1)
        self._on_event(ev.EV_REFUSED, reason, 0)

    def stop(self):
        """Stop and save the running session (the long press). False if none runs."""
        return self.press(ev.BTN_STOP)

    def press(self, button, ticks=None):
        """A logical button (BTN_*) pressed at board tick `ticks` (None: now). The tick is
        clamped to [the engine's last event, now]. START with no session running starts one
        now (an error is kept in last_error, not raised: a button has nobody to tell but the
        refused cue). Returns True if the press did something."""
        engine = self.engine
        if engine is None or not engine.running:
            if button == ev.BTN_STOP and self.start_at is not None:
                self.start_at = None  # a stop cancels a pending start
                self._ready = None
                self._poke()
                return True
            if button != ev.BTN_START:
                return False
            return self._try_start(None, None)
        board = self.board
        now = board.ticks_ms()
        if ticks is None or board.ticks_diff(ticks, now) > 0:
            ticks = now
        elif board.ticks_diff(ticks, engine.due) < 0:
            ticks = engine.due  # the engine already announced a later event
        done = engine.press(button, ticks)
        if not engine.running:
            self._retire(engine)
        self._poke()
        return done

    def _try_start(self, wall_s, ticks, prepare=False):
        # a start nobody waits for (a button, a scheduled start, or setting one up ahead of
        # its tick): errors are kept, not raised
        try:
            if prepare:
                self._ready = self._prepare()
            else:
                self.start(wall_s, None, ticks)
        except Exception as e:
            self.start_at = None
            self.last_error = e
            log = getattr(self.board, "log", None)
            if log is not None and not isinstance(e, EngineError):
                log("start refused: " + repr(e))  # the refused cue said no; this says why
            return False
        return True

    def _retire(self, engine):
        # The session is over: keep its figures, let the engine (program, cursor) go.
        if self.engine is engine:
            self.last_session = (
                engine.session_id,
                engine.end_reason,
                engine.total_ms(),
                engine.late_max_ms,
                engine.late_mean_ms(),
            )
            self.engine = None

    def close(self):
        """End run() (the session, if any, is left as it is)."""
        self._closed = True
        self._poke()

    def _poke(self):
        # The deadline may have moved: wake the loop so it sleeps on the new one.
        if self._sleeping and self._task is not None:
            self._poked = True
            self._task.cancel()
        else:
            self._wake.set()

    # -- the timing loop -------------------------------------------------------------------
    async def run(self):
        """Run sessions until close(): sleep to each deadline, re-check, poll."""
        self._task = asyncio.current_task()
        board = self.board
        wake = self._wake
        try:
            while not self._closed:
                engine = self.engine
                if engine is not None:
                    deadline = engine.next_deadline()
                else:
                    deadline = self.start_at
                    if deadline is not None and self._ready is None:  # set up ahead
                        deadline = board.ticks_add(deadline, -_PREPARE_MS)
                if deadline is None:
                    wake.clear()
                    await wake.wait()
                    continue
                wait_ms = board.ticks_diff(deadline, board.ticks_ms())
                if wait_ms > 0:
                    if wait_ms > _COARSE_MS:
                        wait_ms -= (wait_ms >> 7) + 2  # land ahead of the OS's timer slack
                    self._sleeping = True
                    try:
                        await board.sleep_ms(wait_ms)
                    except asyncio.CancelledError:
                        if not self._poked:
                            raise
                    finally:
                        self._sleeping = False
                        self._poked = False
                    continue  # re-check: early wake-up, or a press moved the deadline
                if engine is None:  # a scheduled start: set up, then due at its own tick
                    self._try_start(self._start_wall_s, self.start_at, self._ready is None)
                    continue
                engine.poll(board.ticks_ms())
                if not engine.running:
                    self._retire(engine)
        finally:
            self._task = None
