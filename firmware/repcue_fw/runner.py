# The runner: drives an Engine on the board's clock inside MicroPython's asyncio loop.
#
#   runner = Runner(board, journal)          # journal: the recorder and the installed program
#   runner.add_listener(fn)                  # fn(code, a, b) for every engine EV_* event
#   asyncio.create_task(runner.run())        # the timing loop
#   asyncio.create_task(runner.button_task())  # optional: awaits board.buttons.get()
#   runner.press(BTN_LAP) / runner.start() / runner.stop()   # from button or link tasks
#
# The loop sleeps until the engine's next absolute deadline with board.sleep_ms, then reads the
# clock again and only polls once the deadline has really passed: sleep_ms can wake up to
# ~0.6 ms early, and a button press may have moved the deadline while it slept (a press
# cancels the sleep, see _poke). Cues go to board.cue(cue_id, pattern) the moment the engine
# announces them, before any listener and before the journal writes.
#
# Hot path (sleep -> poll -> cue): the runner allocates nothing itself; its bound callback is
# made once, patterns are constant tuples, event arguments are small ints. The board's
# sleep_ms should return asyncio.sleep_ms(ms) directly (that object is reused by asyncio)
# rather than be an `async def`, whose call allocates a generator per sleep.
import asyncio

from repcue_fw import cues
from repcue_fw.engine import BTN_START, BTN_STOP, EV_CUE, EV_REFUSED, Engine, EngineError
from repcue_fw.wire import program as wire_program

REFUSED_NO_PROGRAM = 1  # EV_REFUSED a: no program installed (the engine sends a=0: journal)


class Runner:
    def __init__(
        self,
        board,
        journal=None,
        program_source=None,
        engine_factory=None,
        ghost=True,
        wall_clock=None,
    ):
        """board: the HAL (ticks_ms/ticks_add/ticks_diff, sleep_ms, cue, buttons).
        journal: the recorder handed to each engine, and (unless program_source is given)
        where the installed program comes from (program_bytes()).
        program_source(): returns (Program, program_id) or None, instead of the journal.
        engine_factory(program, program_id, clock, recorder, ghost): defaults to Engine.
        wall_clock(): epoch seconds, or 0 while the device has not been told the time."""
        self.board = board
        self.journal = journal
        self._source = program_source
        self._factory = engine_factory if engine_factory is not None else Engine
        self.ghost = ghost
        self.wall_clock = wall_clock
        self.engine = None
        self.last_error = None  # what the last button START could not do
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
        if code == EV_CUE:
            self.board.cue(a, cues.pattern(a))
        for fn in self._listeners:
            fn(code, a, b)

    # -- control (from button and link tasks) ----------------------------------------------
    @property
    def active(self):
        """True while a session runs (paused included)."""
        return self.engine is not None and self.engine.running

    def start(self, wall_s=None, uptime_ms=None):
        """Start a session of the installed program now; return its session id.
        Raises EngineError (field "state": one is running; "program": none installed) or what
        the journal's begin_session raises (JournalFull), after playing the refused cue."""
        if self.active:
            raise EngineError("a session is already running", "state")
        got = self._load_program()
        if got is None:
            self._on_event(EV_CUE, cues.CUE_REFUSED, -1)
            self._on_event(EV_REFUSED, REFUSED_NO_PROGRAM, 0)
            raise EngineError("no program installed", "program")
        program, program_id = got
        engine = self._factory(program, program_id, self.board, self.journal, self.ghost)
        engine.add_listener(self._callback)
        self.engine = engine
        if wall_s is None:
            wall_s = self.wall_clock() if self.wall_clock is not None else 0
        try:
            return engine.start(self.board.ticks_ms(), wall_s, uptime_ms)
        finally:
            self._poke()

    def stop(self):
        """Stop and save the running session (the long press). False if none runs."""
        return self.press(BTN_STOP)

    def press(self, button):
        """A logical button (BTN_*) now. START with no session running starts one (an error
        is kept in last_error, not raised: a button has nobody to tell but the refused cue).
        Returns True if the press did something."""
        if not self.active:
            if button != BTN_START:
                return False
            try:
                self.start()
            except Exception as e:
                self.last_error = e
                return False
            return True
        done = self.engine.press(button, self.board.ticks_ms())
        self._poke()
        return done

    async def button_task(self):
        """Feed presses from board.buttons (an object with `async get() -> BTN_*`)."""
        buttons = self.board.buttons
        while not self._closed:
            self.press(await buttons.get())

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

    def _load_program(self):
        if self._source is not None:
            return self._source()
        if self.journal is None:
            return None
        data = self.journal.program_bytes()
        if data is None:
            return None
        return wire_program.decode(data), wire_program.program_id(data)

    # -- the timing loop -------------------------------------------------------------------
    async def run(self):
        """Run sessions until close(): sleep to each deadline, re-check, poll."""
        self._task = asyncio.current_task()
        board = self.board
        wake = self._wake
        try:
            while not self._closed:
                engine = self.engine
                deadline = engine.next_deadline() if engine is not None else None
                if deadline is None:
                    wake.clear()
                    await wake.wait()
                    continue
                wait_ms = board.ticks_diff(deadline, board.ticks_ms())
                if wait_ms > 0:
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
                engine.poll(board.ticks_ms())
        finally:
            self._task = None
