"""Code only boot or a few requests need is loaded for the call and dropped after it (the
heap a session needs: bench/heap.py): the settings (repcue_fw/settings.py), in the real
MicroPython VM."""

from __future__ import annotations

from pathlib import Path

from tests.mpy import run_mpy

CODE = """
import os, sys
import repcue_fw
from repcue_fw import app
from repcue_fw.journal import Journal

def gone(package, name):
    return (package.__name__ + "." + name) not in sys.modules and name not in package.__dict__

class Runner:
    active = False

class Board:
    config = {}
    name = "t"
    strength = []
    def storage_blocks(self):
        return 64
    def set_cue_strength(self, pct):
        self.strength.append(pct)

root = ROOT
j = Journal(root + "/j")
b = Board()
a = app.App(b, j, Runner())
print("settings dropped at boot", gone(repcue_fw, "settings"), b.strength)
print("get", sorted(a.config_get().items()), gone(repcue_fw, "settings"))
got = a.config_set({"cue_strength": 40, "countdown_s": 9})
print("set", got["cue_strength"], got["countdown_s"], gone(repcue_fw, "settings"))
b2 = Board()
a2 = app.App(b2, Journal(root + "/j"), Runner())
print("loaded", a2.settings["cue_strength"], a2.settings["countdown_s"], b2.strength[-1])
a2.factory_reset()
print("reset", a2.settings["cue_strength"], a2.settings["countdown_s"], gone(repcue_fw, "settings"))
"""


def test_the_settings_code_is_dropped_after_use(tmp_path: Path) -> None:
    out = run_mpy(f"ROOT = {str(tmp_path)!r}\n" + CODE).splitlines()
    assert out == [
        "settings dropped at boot True [100]",
        "get [('buttons', b''), ('countdown_s', 3), ('cue_strength', 100)] True",
        "set 40 9 True",
        "loaded 40 9 40",
        "reset 100 None True",
    ]
