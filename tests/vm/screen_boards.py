# The screen UI on a wearable's own display driver (drivers/st7789.py, ssd1306.py) over the
# `machine` stand-in's buses to the chip models (wearables.py): one whole frame drawn
# synchronously (what Screen.run() does band by band), idle or in a work step.
import json

import wearables
from screen_rig import draw_whole

from repcue_fw.boards.sim import _mount_ram
from repcue_fw.journal import Journal
from repcue_fw.runner import Runner
from repcue_fw.screen import Screen
from repcue_fw.screen import state as S
from repcue_fw.wire import program as P
from repcue_fw.wire.host.program import Program, Step, encode


def frame(scr):
    draw_whole(scr, scr.board.ticks_ms())


def run(board_name, config=None, work=False):
    board, parts = wearables.make(board_name, config)
    _mount_ram(16)
    journal = Journal("/flash")
    journal.install_program(
        encode(Program([Step(P.KIND_WORK, P.END_TIME, 90, P.TARGET_PACE, 0, 2400)], name="x"))
    )

    def source():
        data = journal.program_bytes()
        prog = P.ProgramBytes(data)
        return prog, prog.id

    runner = Runner(board, journal, source)
    scr = Screen(board, runner, None)
    if work:
        runner.start()
    frame(scr)
    panel = parts.get("panel") or parts.get("oled")
    return board, scr, panel


def report(scr, panel, points):
    print(
        json.dumps(
            {
                "seen": [panel.seen(x, y) for x, y in points],
                "lit": panel.lit(),
                "w": scr.lay.w,
                "h": scr.lay.h,
                "bat": scr.cur[S.V_BAT],
            }
        )
    )
