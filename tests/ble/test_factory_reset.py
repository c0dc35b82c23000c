"""Factory reset: every button held at power-up (A and B) deletes the pairing key and the
settings; A alone is safe mode. In the real micropython binary: the hardware profiles
against the `machine` stand-in, and the app's boot decision and reset on a real directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware.test_boards_hw import BOARDS, _run
from tests.mpy import run_mpy


@pytest.mark.parametrize(("board", "chip"), BOARDS)
def test_both_buttons_held_at_power_up_is_the_combination(board: str, chip: str) -> None:
    got = _run(
        chip,
        board,
        """
out = [board.factory_reset_requested()]
pin_a.drive(0)
out += [board.factory_reset_requested(), board.safe_mode()]
pin_b.drive(0)
out.append(board.factory_reset_requested())
pin_a.drive(1)
out.append(board.factory_reset_requested())
one = Board({"buttons": [prof["buttons"][0]], "mapping": [[3, 2, 5]]})
pin_a.drive(0)
out.append(one.factory_reset_requested())  # one button: that is safe mode, not a reset
print(json.dumps(out))
""",
    )
    assert got == [False, False, True, True, False, False]


APP = """
import os
from repcue_fw import app
from repcue_fw.link.ble import keys as key_store

ROOT = %r

class Journal:
    root = ROOT
    def program_bytes(self):
        return None

class Board:
    config = {}
    name = "t"
    def __init__(self, factory=False, safe=False):
        self._factory, self._safe = factory, safe
    def factory_reset_requested(self):
        return self._factory
    def safe_mode(self):
        return self._safe
    def storage_blocks(self):
        return None

class OldBoard:  # a board without the hook
    config = {}
    def safe_mode(self):
        return False

keys = key_store.KeyStore(ROOT)
a = app.App(Board(), Journal(), None)
a.config_set({"cue_strength": 40, "countdown_s": 5})
a.pair(bytes(range(32)))
print(keys.load() == bytes(range(32)), "cfg" in os.listdir(ROOT))
a.factory_reset()
print(keys.load(), "cfg" in os.listdir(ROOT), a.config_get()["cue_strength"])
b = app.App(Board(), Journal(), None)  # after a reboot: still defaults
print(b.config_get()["cue_strength"], b.config_get()["countdown_s"], b.unpair())
print(app.boot_mode(Board(True, True)), app.boot_mode(Board(False, True)),
      app.boot_mode(Board()), app.boot_mode(OldBoard()))
"""


def test_app_factory_reset_forgets_key_and_settings(tmp_path: Path) -> None:
    out = run_mpy(APP % str(tmp_path)).splitlines()
    assert out == [
        "True True",
        "None False 100",
        "100 3 False",
        "factory safe normal normal",
    ]
