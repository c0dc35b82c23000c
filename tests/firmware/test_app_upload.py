"""The app loads the program upload's code for an upload and drops it once the program is
installed (a session needs the heap more), in the real MicroPython VM."""

from __future__ import annotations

from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp
from tests.mpy import run_mpy

APP = """
import gc, sys
from repcue_fw import app
from repcue_fw.wire import opcodes as op

class Journal:
    root = "/tmp"
    installed = []
    def program_bytes(self):
        return None
    def install_program(self, data):
        self.installed.append(bytes(data))
        return int.from_bytes(data[-4:], "little")

class Runner:
    active = False

class Board:
    config = {}
    name = "t"

def status(fn, *args):
    try:
        return fn(*args)
    except op.StatusError as e:
        return "status " + str(e.status)

PROGRAM = PROGRAM_BYTES
CRC = int.from_bytes(PROGRAM[-4:], "little")
a = app.App(Board(), Journal(), Runner())
print("loaded at boot", "repcue_fw.link.upload" in sys.modules)
print("chunk first", status(a.program_chunk, 0, PROGRAM))
print("begin", a.program_begin(len(PROGRAM), CRC), "repcue_fw.link.upload" in sys.modules)
print("chunk", a.program_chunk(0, memoryview(PROGRAM)))
print("bad commit", status(a.program_commit, CRC ^ 1))
print("commit", a.program_commit(CRC) == CRC, len(Journal.installed))
import repcue_fw.link as link
print("after", "repcue_fw.link.upload" in sys.modules, hasattr(link, "upload"))
print("again", a.program_commit(CRC) == CRC, len(Journal.installed))
print("other", status(a.program_commit, CRC ^ 1))
print("next", a.program_begin(len(PROGRAM), CRC), "repcue_fw.link.upload" in sys.modules)
"""


def test_the_upload_code_is_loaded_for_an_upload_and_dropped_after_it() -> None:
    program = wp.encode(wp.Program([wp.Step(wp.KIND_WORK, wp.END_TIME, 60)], countdown_s=3))
    lines = run_mpy(f"PROGRAM_BYTES = {program!r}\n" + APP).splitlines()
    st = op.ST_BAD_STATE
    assert lines == [
        "loaded at boot False",
        f"chunk first status {st}",
        "begin 0 True",
        f"chunk {len(program)}",
        f"bad commit status {op.ST_CRC}",
        "commit True 1",
        "after False False",
        "again True 1",  # a repeated commit (its response was lost) is still OK
        f"other status {st}",
        "next 0 True",
    ]
