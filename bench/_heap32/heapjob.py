# The device side of bench/heap.py's 32-bit job, run in MicroPython's webassembly port.
# It stands where a board's main.py, its board module and the serial link stand: it makes
# the board, the journal, the app, the runner and the dispatcher as app.run() does, starts
# the runner's (and, when there is a screen, the screen's) task, and then takes the host's
# wire frames one at a time (feed) while the harness steps the clock (advance).
#
# The board: BoardBase with the sim board's stepped clock and a two-button gesture decoder
# (what a real board holds, less its machine.Pin/PWM/Timer objects, which this port lacks);
# storage is a directory of the port's in-memory filesystem (no littlefs here). A screen,
# when the firmware has one (repcue_fw.screen), draws to a display whose blit discards:
# 240x240 RGB565 in 4-row bands, the T-Watch S3's panel, the largest of the boards.
import asyncio
import gc

from heapclock import STEPPED, SimClock  # boards/sim/clock.py without the sim board

from repcue_fw.boards import buttons
from repcue_fw.boards.base import BoardBase

MOUNT_POINT = "/flash"


class Display:
    """CONTRACT item 1's display driver, with a blit that draws nowhere."""

    width = 240
    height = 240
    band_rows = 4  # the ST7789 driver's default

    def __init__(self):
        import framebuf

        self.fmt = framebuf.RGB565
        self.blits = 0
        self.lit = True

    def rgb(self, r, g, b):
        c = ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)
        return ((c & 0xFF) << 8) | (c >> 8)  # bytes swapped, as the ST7789 driver's

    def blit(self, buf, x, y, w, h):
        self.blits += 1

    def on(self, flag):
        self.lit = flag


class Board(BoardBase):
    name = "bench32"

    def __init__(self, screen):
        BoardBase.__init__(self, {})
        self.clock = SimClock(STEPPED)
        self.ticks_ms = self.clock.ticks_ms
        self.ticks_add = self.clock.ticks_add
        self.ticks_diff = self.clock.ticks_diff
        self.sleep_ms = self.clock.sleep_ms
        self.decoder = buttons.ButtonDecoder(buttons.TWO_BUTTONS, self.clock, self.buttons.push)
        self.cues = 0
        if screen:
            self.display = Display()

    def cue(self, cue_id, pattern):
        self.cues += 1

    def mount_storage(self):
        import os

        import vfs

        os.mkdir(_STORE)
        vfs.mount(ErrnoFs(vfs.VfsPosix(_STORE)), MOUNT_POINT)
        return MOUNT_POINT


# This port's filesystem raises Emscripten's errno numbers; the firmware checks the ones a
# board's littlefs raises (ENOENT 2, EEXIST 17). A thin VFS in front of it translates.
_STORE = "/store"
_ERRNO = {44: 2, 20: 17, 55: 20, 54: 21, 51: 28}  # ENOENT EEXIST ENOTDIR EISDIR ENOSPC


def _fs_call(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        code = e.args[0] if e.args else 0
        raise OSError(_ERRNO.get(code, code))  # noqa: B904  (MicroPython warns on `from`)


class ErrnoFs:
    def __init__(self, fs):
        self.fs = fs

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        return _fs_call(self.fs.open, path, mode)

    def ilistdir(self, path):
        return _fs_call(self.fs.ilistdir, path)

    def mkdir(self, path):
        return _fs_call(self.fs.mkdir, path)

    def rmdir(self, path):
        return _fs_call(self.fs.rmdir, path)

    def remove(self, path):
        return _fs_call(self.fs.remove, path)

    def rename(self, old, new):
        return _fs_call(self.fs.rename, old, new)

    def stat(self, path):
        return _fs_call(self.fs.stat, path)

    def statvfs(self, path):
        return _fs_call(self.fs.statvfs, path)


board = None
journal = None
app = None
dispatcher = None
tasks = []
failed = [None]  # what ended a task early (a MemoryError, on this bench)


async def _guard(coro):
    # An exception left to this port's asyncio would be formatted in C with the heap still
    # full (garbage is collected only between commands), where the port spins forever
    # instead of raising: keep it here, and the harness asks for it after each step.
    try:
        await coro
    except Exception as e:
        failed[0] = e


# The firmware's modules, loaded one per command before boot() (as app._preload loads
# them, collecting after each): this port collects only between commands.
PRELOAD = (
    "repcue_fw.schedule",  # what repcue_fw.app imports, in its order
    "repcue_fw.wire.program",
    "repcue_fw.wire.records",
    "repcue_fw.wire.steps",
    "repcue_fw.engine",
    "repcue_fw.wire.opcodes",
    "repcue_fw.app",
    "repcue_fw.journal",
    "repcue_fw.runner",
    "repcue_fw.link.dispatch",
    "repcue_fw.link.serial",
)


def preload(screen):
    # A board collects garbage when an allocation fails. This port cannot collect inside a call
    # (it cannot scan its C stack): gc_collect() only asks, and the heap is collected when
    # control is back in JavaScript. It asks on a failed allocation (too late: the allocation
    # still fails) and, by default, once 16 KB were allocated since the last collection (the
    # threshold mp_js_init sets), so up to 16 KB of dead objects stayed in the heap and were
    # counted as if the firmware needed them. Threshold 0: it asks on every allocation, so the
    # heap is collected at every return to JavaScript (each command, each asyncio turn); what
    # one call allocates still stays until it returns.
    gc.threshold(0)
    return " ".join(PRELOAD + (("repcue_fw.screen",) if screen else ()))


def boot(screen, stage):
    """Everything app.run() makes, in its order (the code is loaded: see PRELOAD), in
    stages the driver calls one at a time (0, 1, ... until one says "done"): this port
    collects garbage only between calls, and a board's collector would run inside app.run()
    whenever an allocation failed."""
    global board, journal, app, dispatcher
    try:
        if stage == 0:
            board = Board(screen)
        elif stage == 1:
            from repcue_fw.journal import Journal

            journal = Journal(board.mount_storage())  # the recovery scan at boot
        elif stage == 2:
            from repcue_fw import app as app_module
            from repcue_fw.link.dispatch import Dispatcher
            from repcue_fw.runner import Runner

            app = app_module.App(board, journal, None)
            source = app.program_source
            runner = Runner(board, journal, program_source=source, wall_clock=app.wall_s)
            app.runner = runner
            dispatcher = Dispatcher(app)
            board.attach(runner)
            runner.add_listener(board.on_event)
            runner.add_listener(dispatcher.post_event)
        else:
            from repcue_fw import app as app_module

            runner = app.runner
            tasks.append(asyncio.create_task(_guard(runner.run())))
            tasks.append(asyncio.create_task(_guard(app_module.press_buttons(board, runner, app))))
            if board.display is not None:
                from repcue_fw.screen import Screen

                tasks.append(asyncio.create_task(_guard(Screen(board, runner, app).run())))
            return "done"  # the last stage
        return "ok"
    except Exception as e:
        return "!" + repr(e)


# The functions the driver calls straight from JS (driver.mjs): each returns a str, and
# catches what fails itself ("!" + what), since an exception that reached the port's C side
# with the heap full would hang it.


# The link's receive buffer, as link/serial.py holds one (_RX_CHUNK): the driver writes each
# request's bytes straight into it, as a UART driver fills a board's, and takes the response
# from the Dispatcher's own buffer (a memoryview the driver copies out of the port's memory):
# nothing the job's figures count is the harness's.
RX_BYTES = 256
rx = bytearray(RX_BYTES)


def feed(n):
    """n bytes the driver wrote into rx, handed to the Dispatcher; the response that
    completes (a memoryview into the Dispatcher's buffer), or None."""
    try:
        out = None
        pos = 0
        while pos < n:
            pos = dispatcher.receive(rx, pos, n)
            if dispatcher.response is not None:
                out = dispatcher.response
        return out
    except Exception as e:
        return "!" + repr(e)


_advanced = [""]


async def _advance(ms):
    try:
        await board.clock.advance(ms)
        _advanced[0] = "ok"
    except Exception as e:
        _advanced[0] = "!" + repr(e)


def advance(ms):
    """Start stepping the clock by ms; advanced() says when it is done."""
    if failed[0] is not None:
        return "!a task ended: " + repr(failed[0])
    _advanced[0] = ""
    asyncio.create_task(_advance(ms))  # noqa: RUF006  (it ends by itself; advanced() tells)
    return "started"


def advanced():
    """ "" while the clock is stepping; then "ok", or what ended a task or the stepping."""
    if _advanced[0] and failed[0] is not None:
        return "!a task ended: " + repr(failed[0])
    return _advanced[0]


def collect():
    gc.collect()  # this port only marks it: the heap is collected on the next call from JS
    return "ok"


def mem():
    """Heap in use and free (collected: call collect() first), cues, blits, the board's log."""
    blits = board.display.blits if board.display is not None else -1
    return "%d %d %d %d %s" % (  # noqa: UP031  (MicroPython: no f-string format specs)
        gc.mem_alloc(),
        gc.mem_free(),
        board.cues,
        blits,
        board.last_error or "",
    )
