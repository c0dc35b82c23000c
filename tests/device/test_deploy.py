"""Deploy: `repcue firmware build` makes .mpy files the micropython binary imports and runs,
and `repcue firmware install` copies them through a REPL with mpremote, skipping unchanged
files (here the virtual device's REPL after it leaves protocol mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.cli import main as cli_main
from repcue.errors import BuildError
from repcue.firmware_build import build, install, read_index
from repcue.firmware_build.source import MAIN_PY
from repcue_fw.wire.host import program as wp
from tests.device.conftest import Start
from tests.mpy import FIRMWARE, micropython_binary


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fw") / "bundle"
    build(out)
    return out


def _run_bundle(bundle: Path, code: str) -> str:
    env = dict(os.environ, MICROPYPATH=f"{bundle}:.frozen")
    proc = subprocess.run(
        [micropython_binary(), "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_bundle_holds_mpy_for_every_board_module_plus_main_and_manifest(bundle: Path) -> None:
    sources = {
        p.relative_to(FIRMWARE).with_suffix(".mpy").as_posix()
        for p in (FIRMWARE / "repcue_fw").rglob("*.py")
        if "host" not in p.relative_to(FIRMWARE / "repcue_fw").parts
    }
    index = {f.path for f in read_index(bundle)}
    assert index == sources | {"main.py"}
    assert "repcue_fw/wire/frame.mpy" in index  # the wire format the board speaks...
    assert not list(bundle.glob("repcue_fw/wire/host"))  # ...without the host's extensions
    assert (bundle / "main.py").read_text() == MAIN_PY
    assert not list(bundle.glob("repcue_fw/**/*.py"))  # only .mpy on the board side
    assert all((bundle / p).read_bytes()[:1] == b"M" for p in sources)  # .mpy magic
    manifest = (bundle / "manifest.py").read_text()
    assert 'package("repcue_fw", base_path="src"' in manifest
    assert (bundle / "src" / "repcue_fw" / "engine.py").exists()


def test_bundle_imports_and_runs_in_micropython(bundle: Path) -> None:
    data = wp.encode(wp.Program([wp.Step(1, 0, 5)]))
    out = _run_bundle(
        bundle,
        f"""
import repcue_fw.app, repcue_fw.boards.sim
from repcue_fw.engine import Engine
from repcue_fw.boards.sim.clock import SimClock
print(repcue_fw.app.__file__.endswith(".mpy"))
e = Engine(bytes.fromhex({data.hex()!r}), {wp.program_id(data)}, SimClock("stepped"))
e.start(0)
e.poll(5000)
print(e.finished)
""",
    )
    assert out.split() == ["True", "True"]


def test_build_without_sim_and_refuses_to_clobber_a_foreign_dir(tmp_path: Path) -> None:
    files = build(tmp_path / "hw", include_sim=False)
    assert not [f for f in files if "/boards/sim" in f.path]
    assert any(f.path.endswith("boards/esp32c3.mpy") for f in files)
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"x")
    with pytest.raises(BuildError, match="not empty"):
        build(foreign)
    assert (foreign / "cat.jpg").exists()


def test_install_copies_then_skips_unchanged_and_removes_stale(
    bundle: Path, start_device: Start, tmp_path: Path
) -> None:
    dev = start_device(clock="stepped")
    board_dir = tmp_path / "board"  # the unix port's filesystem is the host's
    first = install(bundle, dev.pty_path, remote_dir=str(board_dir), soft_reset=False)
    assert sorted(first.copied) == sorted(f.path for f in read_index(bundle))
    for f in read_index(bundle):
        assert (board_dir / f.path).read_bytes() == (bundle / f.path).read_bytes()
    (board_dir / "repcue_fw" / "engine.py").write_text("stale = True\n")  # would shadow .mpy
    (board_dir / "main.py").write_text("# edited on the board\n")
    second = install(bundle, dev.pty_path, remote_dir=str(board_dir), soft_reset=False)
    assert second.copied == ["main.py"]
    assert len(second.skipped) == len(first.copied) - 1
    assert second.removed == [f"{board_dir}/repcue_fw/engine.py"]
    assert not (board_dir / "repcue_fw" / "engine.py").exists()


def test_cli_build_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["firmware", "build", "-o", str(tmp_path / "b"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == sum(f["size"] for f in out["files"]) > 0


def test_cli_install_on_a_missing_port_is_a_clean_error(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(
        ["firmware", "install", "--port", str(tmp_path / "ttyNONE"), "--bundle", str(bundle)]
    )
    assert code == 3  # TransportError
    assert "cannot open" in capsys.readouterr().err
    assert sys.exc_info() == (None, None, None)


def test_build_from_an_installed_package(tmp_path: Path) -> None:
    """A wheel carries repcue_fw/ only: the bundle's main.py comes from the build."""
    import shutil

    src = tmp_path / "site"
    shutil.copytree(FIRMWARE / "repcue_fw", src / "repcue_fw")
    build(tmp_path / "b", source_root=src)
    assert (tmp_path / "b" / "main.py").read_text() == MAIN_PY
    assert (tmp_path / "b" / "repcue_fw" / "app.mpy").exists()
