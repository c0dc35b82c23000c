# The app: wires board + journal + runner + link together and is the link's `services`.
#
#   main()          what a board's main.py runs (repcue.firmware_build.source.MAIN_PY):
#                   load the code, pick the board, honour the buttons held at power-up
#                   (boot_mode: safe mode or factory reset), run until the host asks for
#                   the REPL
#   run(board, factory_reset)   the app's tasks: runner, buttons, serial link (and BLE if
#                   the board's config says "ble": true)
#   pick_board()    $REPCUE_BOARD / the config file's "board" / sys.platform
#   App(board, journal, runner)   the services object of repcue_fw.link.Dispatcher
#
# Protocol mode owns the serial port: Ctrl-C is off and nothing is printed (errors go to
# board.log, also those of crashed tasks). The REPL request (or mpremote's break-in bytes)
# stops the app and main() returns, so the REPL gets the port back.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import gc
import os
import sys

from repcue_fw import unload
from repcue_fw.engine import EngineError
from repcue_fw.wire import device_name
from repcue_fw.wire import events as ev
from repcue_fw.wire import opcodes as op
from repcue_fw.wire.program import ProgramBytes

FIRMWARE_VERSION = "0.1.0"
CONFIG_FILE = "/repcue.json"  # on a board's filesystem; the unix port uses $REPCUE_CONFIG
_CLOCK_REBASE_MS = const(600000)  # keep the wall-clock base within ticks_diff's range
_START_AHEAD_MS = const(600000)  # a scheduled START at most this far ahead
_SERVE_RETRY_MS = const(200)
_PLATFORM_BOARDS = {"linux": "sim", "darwin": "sim", "esp32": "esp32c3", "rp2": "picow"}
# What run() needs, loaded before anything else is allocated (see _preload).
_MODULES = ("repcue_fw.journal", "repcue_fw.runner", "repcue_fw.link.serial")


class App:
    """The link's services over the board, the journal and the runner. Journal errors
    reach the host as they are: JournalError carries the link status as `status`."""

    def __init__(self, board, journal, runner):
        self.board = board
        self.journal = journal
        self.runner = runner
        self._upload = None  # a ProgramUpload while one runs (see program_begin)
        self._installed_id = -1  # the last upload's id: a repeated commit answers OK
        self._epoch_s = 0  # wall clock at _epoch_ticks; 0: never set
        self._epoch_ticks = 0
        self.ble = None  # the BLE link when one runs: told when the pairing key changes
        self.pair_pending = None  # [key, ticks asked, accepted] while a PAIR awaits a press
        decoder = getattr(board, "decoder", None)
        self._default_mapping = decoder.mapping if decoder is not None else None
        self.settings = None  # {cue_strength, countdown_s, buttons}: repcue_fw/settings.py
        _settings("load", self)
        self._program_id = 0
        data = journal.program_bytes()
        if data is not None:
            self._program_id = int.from_bytes(data[len(data) - 4 :], "little")

    # -- wall clock -----------------------------------------------------------------------
    def wall_s(self):
        if not self._epoch_s:
            return 0
        board = self.board
        return self._epoch_s + board.ticks_diff(board.ticks_ms(), self._epoch_ticks) // 1000

    def rebase_clock(self):
        if self._epoch_s:
            board = self.board
            whole_s = board.ticks_diff(board.ticks_ms(), self._epoch_ticks) // 1000
            self._epoch_s += whole_s
            self._epoch_ticks = board.ticks_add(self._epoch_ticks, whole_s * 1000)

    # -- services: the link calls these ----------------------------------------------------
    def info(self):
        uid = self.board.unique_id()
        try:
            free_flash = self.journal.free_bytes()
        except OSError:
            free_flash = 0
        name = self.board.config.get("name") or device_name(uid)
        return {
            "device_id": uid,
            "name": name,
            "board": self.board.name,
            "firmware": FIRMWARE_VERSION,
            "caps": op.CAP_PROGRAM | op.CAP_SESSIONS | op.CAP_CONFIG | op.CAP_CLOCK,
            "free_heap": gc.mem_free(),
            "free_flash": free_flash,
            "clock_s": self.wall_s(),
            "program_id": self._program_id,
            "running": self.runner.active,
        }

    def set_time(self, epoch_s, ms=0):
        # the base stays whole seconds: its tick is when the clock read epoch_s.000
        before = self.wall_s()
        board = self.board
        self._epoch_s = epoch_s
        self._epoch_ticks = board.ticks_add(board.ticks_ms(), -ms)
        return before

    # The upload's code is loaded by a PROGRAM_BEGIN and dropped with it once the program
    # is installed: most sessions run with no upload, and a session's records need the
    # heap more (bench/heap.py: 1.6 KB less at the peak on a 32-bit board with .mpy files).
    def program_begin(self, total_len, crc):
        if self._upload is None:
            from repcue_fw.link.upload import ProgramUpload

            self._upload = ProgramUpload(self._install)
        return self._upload.begin(total_len, crc)

    def program_chunk(self, offset, data):
        if self._upload is None:
            raise op.StatusError(op.ST_BAD_STATE, "no upload in progress", 0)
        return self._upload.chunk(offset, data)

    def program_commit(self, crc):
        upload = self._upload
        if upload is None:
            if crc == self._installed_id:
                return crc  # a repeated commit after a lost response
            raise op.StatusError(op.ST_BAD_STATE, "no upload in progress", 0)
        upload.commit(crc)  # a refused commit keeps the upload (it can resume)
        self._installed_id = crc
        self._upload = None
        unload("repcue_fw.link", "upload")
        return crc

    def _install(self, data):
        if self.runner.active:
            raise op.StatusError(op.ST_BUSY, "a session is running")
        self._program_id = self.journal.install_program(data)

    def start(self, at_s=None, at_ms=0):
        """Start now (-> the session id), or at the wall-clock instant at_s.at_ms by this
        device's clock (-> 0: scheduled, the id is not known yet)."""
        runner = self.runner
        if at_s is None:
            try:
                return runner.start()
            except EngineError as exc:
                code = op.ST_BUSY if exc.field == "state" else op.ST_BAD_STATE
                raise op.StatusError(code, exc.message)
        if runner.active:
            raise op.StatusError(op.ST_BUSY, "a session is running")
        if not self._epoch_s:
            raise op.StatusError(op.ST_BAD_STATE, "clock not set: SET_TIME first")
        if not self._program_id:
            raise op.StatusError(op.ST_BAD_STATE, "no program installed")
        board = self.board
        now = board.ticks_ms()
        # ms until the instant; small: the base is rebased every 10 min, the instant near
        wait_ms = (at_s - self._epoch_s) * 1000 + at_ms - board.ticks_diff(now, self._epoch_ticks)
        if wait_ms <= 0:
            raise op.StatusError(op.ST_BAD_REQUEST, "start instant is past")
        if wait_ms > _START_AHEAD_MS:
            raise op.StatusError(op.ST_BAD_REQUEST, "start instant over 10 min ahead")
        runner.schedule(board.ticks_add(now, wait_ms), at_s)
        return 0

    def stop(self):
        # a pending start cancelled counts as stopped; nothing at all would be a lie
        if not self.runner.stop():
            raise op.StatusError(op.ST_NOT_RUNNING, "no session is running")

    def press(self, button):
        return self.runner.press(button)

    def list_sessions(self, after_id, max_n):
        return self.journal.list_sessions(after_id, max_n)

    def read_session_into(self, session_id, offset, buf):
        try:
            return self.journal.read_session_into(session_id, offset, buf)
        except OSError as exc:
            if exc.args and exc.args[0] == 2:  # ENOENT: reclaimed meanwhile
                raise op.StatusError(op.ST_NOT_FOUND, "no session", session_id)
            raise

    def ack_sessions(self, ids):
        self.journal.ack(ids)

    def config_get(self):
        return _settings("get", self)

    def config_set(self, changes):
        return _settings("put", self, changes)

    def repl(self):
        self.board.reset_to_repl()

    # -- pairing and factory reset (USB only: link.ble.server.AirServices leaves them out) --
    def pair(self, key):
        from repcue_fw import pairing

        return pairing.pair(self, key)

    def unpair(self):
        from repcue_fw import pairing

        return pairing.unpair(self)

    def factory_reset(self):
        """Forget the pairing key and the settings (sessions and the program stay)."""
        self.unpair()
        _settings("reset", self)

    def program_source(self):
        """The runner's program loader: the journal's program with the device's countdown
        setting as the default (a step's own countdown still wins)."""
        data = self.journal.program_bytes()
        if data is None:
            return None
        program = ProgramBytes(data)  # run in place from its bytes
        if self.settings["countdown_s"] is not None:
            program.countdown_s = self.settings["countdown_s"]
        return program, program.id


async def press_buttons(board, runner, app=None):
    """The board's buttons to the runner, each timed at its press tick. A press accepts a
    pairing that waits for one (app.pair_pending); otherwise button B (pause) starts a
    session when none runs, and everything else goes to the engine."""
    buttons = board.buttons
    while True:
        button = await buttons.get()
        if app is not None and app.pair_pending is not None:
            from repcue_fw import pairing

            if pairing.accept(app):
                continue
        if button == ev.BTN_PAUSE and not runner.active:
            button = ev.BTN_START
        runner.press(button, buttons.last_ticks)  # timed at the press, not at this turn


async def _housekeeping(app):
    while True:
        await app.board.sleep_ms(_CLOCK_REBASE_MS)
        app.rebase_clock()


async def _serve(board, dispatcher):
    from repcue_fw.link import serial

    while not board.repl_requested:
        board.enter_protocol_mode()
        reason = await serial.serve(dispatcher)
        if reason != serial.HANGUP:
            return
        await asyncio.sleep_ms(_SERVE_RETRY_MS)  # the port went away: wait for a host


async def run(board, factory_reset=False):
    """Run the device until the REPL is requested (after a factory reset if asked)."""
    from repcue_fw.journal import Journal
    from repcue_fw.link.dispatch import Dispatcher
    from repcue_fw.runner import Runner

    loop = asyncio.get_event_loop()
    loop.set_exception_handler(lambda _loop, ctx: board.log(repr(ctx.get("exception"))))
    journal = Journal(board.mount_storage())
    app = App(board, journal, None)
    if factory_reset:
        app.factory_reset()
    runner = Runner(board, journal, program_source=app.program_source, wall_clock=app.wall_s)
    app.runner = runner
    dispatcher = Dispatcher(app)
    board.attach(runner)
    runner.add_listener(board.on_event)
    runner.add_listener(dispatcher.post_event)
    board.start()
    tasks = [
        asyncio.create_task(runner.run()),
        asyncio.create_task(press_buttons(board, runner, app)),
        asyncio.create_task(_housekeeping(app)),
        asyncio.create_task(_serve(board, dispatcher)),
    ]
    if board.display is not None:
        from repcue_fw.screen import Screen

        app.screen = Screen(board, runner, app)  # repcue_fw/idle.py sleeps and wakes it
        tasks.append(asyncio.create_task(app.screen.run()))
    if board.config.get("ble"):
        from repcue_fw.link import ble  # loaded only where the config asks for BLE

        if ble.available():
            app.ble = ble.start(app, runner, FIRMWARE_VERSION)
            tasks.append(asyncio.create_task(app.ble.run()))
    if board.sleep_after_ms > 0:  # sleep between sessions: repcue_fw/idle.py
        from repcue_fw.idle import Idle

        idle = Idle(app)
        dispatcher.waker = idle.on_serial
        if app.ble is not None:
            app.ble.dispatcher.waker = idle.on_ble
        tasks.append(asyncio.create_task(idle.run()))
    gc.collect()
    await board.wait_repl()
    for task in tasks:
        task.cancel()
    runner.close()
    await board.release_port()
    board.stop()
    return app


def pick_board(name=None):
    """The Board for this device: `name` (a bundle built with --board names its board), else
    $REPCUE_BOARD, else the config file's "board", else by sys.platform. Config: the JSON
    file at $REPCUE_CONFIG (unix port) or /repcue.json."""
    import json

    from repcue_fw.boards import load

    getenv = getattr(os, "getenv", None)
    name = name or (getenv("REPCUE_BOARD") if getenv else None)
    path = (getenv("REPCUE_CONFIG") if getenv else None) or CONFIG_FILE
    config = {}
    try:
        with open(path) as f:
            config = json.load(f)
    except OSError:
        pass  # no config file: defaults
    name = name or config.get("board") or _PLATFORM_BOARDS.get(sys.platform)
    if not name:
        raise OSError("no board profile for platform " + sys.platform)
    board_class = load(name)
    gc.collect()  # the code first, then the board's objects (see _preload)
    return board_class(config)


def _settings(name, app, *args):
    # repcue_fw/settings.py's `name`(app, *args), its module loaded for this call only
    from repcue_fw import settings

    try:
        return getattr(settings, name)(app, *args)
    finally:
        unload("repcue_fw", "settings")


def boot_mode(board):
    """What the buttons held at power-up ask for: "factory" (every button: forget the
    pairing key and the settings), "safe" (stay in the REPL) or "normal"."""
    requested = getattr(board, "factory_reset_requested", None)
    if requested is not None and requested():
        return "factory"
    return "safe" if board.safe_mode() else "normal"


def _preload():
    # Load the code run() needs before the board and the buffers are allocated, collecting
    # after each module: what loading one module leaves free is then reused by the next
    # instead of scattering small holes over the heap (measured with bench/heap.py: the
    # smallest heap that runs drops by some 12 KB).
    for name in _MODULES:
        __import__(name)
        gc.collect()


def main(board_name=None):
    _preload()
    board = pick_board(board_name)
    mode = boot_mode(board)
    if mode == "safe":
        return  # a button held at power-up: stay in the REPL
    try:
        asyncio.run(run(board, mode == "factory"))
    except Exception as exc:
        board.log("app stopped: " + repr(exc))
        sys.print_exception(exc, sys.stderr)
    finally:
        asyncio.new_event_loop()
    if getattr(board, "host_gone", False):
        board.power_off()
