"""The bundle's constant fold (host/repcue/firmware_build/fold.py): other modules' consts
replaced by their values, the ones nobody outside uses made private, nothing unproven
touched; and on the real firmware, what it leaves still links and runs."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from repcue.errors import BuildError
from repcue.firmware_build import build
from repcue.firmware_build.bundle import SOURCES_DIR
from repcue.firmware_build.fold import fold, link_check
from tests.mpy import micropython_binary

HEAD = "from micropython import const\n"
CONSTS = (
    HEAD
    + "X = const(3)\nY = const(X + 1)\nNEG = const(-2)\nSHOWN = const(7)\n"
    + "BY_NAME = const(9)\n_P = const(1)\nNOT_INT = const('s')\n"
    + "def f():\n    return X + Y + _P\n"
)


def test_uses_get_values_and_unused_consts_go_private() -> None:
    user = (
        "from pkg import consts as c\n"
        "from pkg.consts import BY_NAME\n"
        "a = c.X\nb = c.Y.bit_length()\nd = -c.NEG\ne = BY_NAME\nshown = thing.SHOWN\n"
    )
    out = fold({"pkg.consts": CONSTS, "pkg.user": user})
    assert out["pkg.user"].splitlines()[1:] == [
        "pass",  # the import of BY_NAME alone: its name is folded away
        "a = 3",
        "b = (4).bit_length()",
        "d = -(-2)",
        "e = 9",
        "shown = thing.SHOWN",
    ]
    consts = out["pkg.consts"]
    for private in ("_X = const(3)", "_Y = const(_X + 1)", "_NEG = const(-2)", "_BY_NAME"):
        assert private in consts
    assert "return _X + _Y + _P" in consts  # its own uses renamed with it
    # SHOWN may be looked up as an attribute (of an object the fold cannot name): kept
    assert "\nSHOWN = const(7)" in consts
    assert "\nNOT_INT = const('s')" in consts  # not an int: never folded


def test_what_cannot_be_proven_is_left_alone() -> None:
    reassigned = HEAD + "R = const(1)\nR = 2\nK = const(5)\n"
    user = (
        "from pkg import consts as c\n"
        "def g(c):\n    return c.K\n"  # `c` is also a parameter: which module is unknown
        "def h():\n    from pkg import other as c\n    return c.K\n"
        "v = c.R\n"
    )
    out = fold({"pkg.consts": reassigned, "pkg.other": HEAD + "K = const(6)\n", "pkg.user": user})
    assert out["pkg.user"].count("c.K") == 2 and "v = c.R" in out["pkg.user"]
    assert "\nK = const(5)" in out["pkg.consts"]  # still looked up: stays public
    assert "\nR = const(1)" in out["pkg.consts"]


def test_a_shadowed_imported_name_is_not_folded() -> None:
    user = "from pkg.consts import X\ndef g(X):\n    return X\ny = X\n"
    out = fold({"pkg.consts": CONSTS, "pkg.user": user})
    assert out["pkg.user"] == user
    assert "\nX = const(3)" in out["pkg.consts"]


def test_link_check_refuses_a_missing_name() -> None:
    with pytest.raises(BuildError, match=r"pkg\.user imports GONE from pkg\.consts"):
        link_check({"pkg.consts": CONSTS, "pkg.user": "from pkg.consts import GONE\n"})


def test_the_firmware_folds_links_and_runs(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    build(bundle)
    src = bundle / SOURCES_DIR / "repcue_fw"
    dispatch = (src / "link" / "dispatch.py").read_text()
    tree = ast.parse(dispatch)
    op_uses = [
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "op"
    ]
    # every int const of opcodes folded (the struct formats, strings, stay lookups)
    assert "FMT_HELLO" in op_uses
    assert not [a for a in op_uses if a.startswith(("ST_", "OP_", "CAP_", "MAX_"))]
    opcodes = (src / "wire" / "opcodes.py").read_text()
    assert "\n_OP_HELLO = const(0x01)" in opcodes  # used by no other firmware module
    assert "def put_error(" in opcodes
    # the folded bundle alone (no sources on the path) imports in the VM; consts folded
    # into every use are gone from their modules' globals
    code = (
        "from repcue_fw.wire import program as wp, opcodes as op\n"
        "from repcue_fw import app, engine, runner, journal, screen\n"
        "from repcue_fw.link import dispatch\n"
        "print(hasattr(wp, 'KIND_WORK'), hasattr(op, 'OP_HELLO'), dispatch.Dispatcher.__name__)\n"
    )
    env = dict(os.environ, MICROPYPATH=f"{bundle}:.frozen")
    proc = subprocess.run(
        [micropython_binary(), "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.split() == ["False", "False", "Dispatcher"]
