# The screen in the VM: the sim board (stepped clock, a RAM flash) with a panel whose frame
# is a file, the journal, a runner and the Screen task, as app.run() wires them. The test
# drives the clock and buttons and copies the frame file at each checkpoint (snap(name)),
# then reads the pixels back on the host.
import asyncio
import gc
import json

from repcue_fw.boards.sim import Board
from repcue_fw.journal import Journal
from repcue_fw.runner import Runner
from repcue_fw.screen import Screen
from repcue_fw.screen import layout as L
from repcue_fw.screen import state as S


def draw_whole(scr, now):
    """One whole frame, synchronously: what Screen.run() does band by band (allocates
    nothing: the heap may be locked around it)."""
    S.refresh(scr, now)
    scr.dirty()
    for r in range(L.N_REGIONS):
        y = scr.lay.ys[r]
        end = y + scr.lay.hs[r]
        while y < end:
            y = scr.band(r, y, end)


class Rig:
    def __init__(self, frame_path, w, h, mono=False, battery=87):
        size = w * h // 8 if mono else w * h * 2
        with open(frame_path, "wb") as f:
            f.write(bytes(size))
        self.path = frame_path
        cfg = {
            "clock": "stepped",
            "battery": battery,
            "screen": {"w": w, "h": h, "mono": mono, "file": frame_path},
        }
        self.board = Board(cfg)
        self.journal = Journal(self.board.mount_storage())
        self.runner = Runner(self.board, self.journal, self.source)
        self.board.attach(self.runner)
        self.screen = Screen(self.board, self.runner, None)
        self.tasks = []
        self.snaps = {}

    def source(self):
        from repcue_fw.wire.program import ProgramBytes

        data = self.journal.program_bytes()
        if data is None:
            return None
        p = ProgramBytes(data)
        return p, p.id

    def install(self, program):
        from repcue_fw.wire.host.program import encode

        self.journal.install_program(encode(program))
        self.screen.idle_stale = True
        self.screen.poke()

    def start(self):
        self.tasks.append(asyncio.create_task(self.runner.run()))
        self.tasks.append(asyncio.create_task(self.screen.run()))

    async def advance(self, ms):
        await self.board.clock.advance(ms)

    async def press(self, button):
        self.runner.press(button)
        await self.board.clock.settle()

    def snap(self, name):
        with open(self.path, "rb") as f:
            data = f.read()
        with open(self.path + "." + name, "wb") as f:
            f.write(data)
        self.snaps[name] = self.screen.frames

    def report(self, **extra):
        extra["snaps"] = self.snaps
        extra["blits"] = self.board.display.blits
        extra["alive"] = self.screen._task is not None  # the UI task did not crash
        print(json.dumps(extra))

    def frame_alloc(self):
        """Bytes allocated by a whole redraw of every region (refresh, dirty, every band),
        and whether it ran with the heap locked."""
        import micropython

        gc.collect()
        before = gc.mem_alloc()
        micropython.heap_lock()
        draw_whole(self.screen, self.board.ticks_ms())
        micropython.heap_unlock()
        return gc.mem_alloc() - before
