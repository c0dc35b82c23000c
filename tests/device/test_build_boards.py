"""`repcue firmware build --board NAME`: each board's bundle holds its profile and only the
drivers it uses, its main.py names it, its manifest.py lists exactly its modules, and the
compiled bundle alone (no firmware/ sources on the path) builds the board in the VM against
the stand-ins."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from repcue.cli import main as cli_main
from repcue.errors import BuildError
from repcue.firmware_build import build, read_index
from repcue.firmware_build.source import BOARDS
from tests.mpy import ROOT, micropython_binary, run_mpy

STANDINS = ROOT / "device" / "repcue_device"
VM_HELPERS = ROOT / "tests" / "vm"
HARDWARE = ["esp32c3", "picow", "m5stickc_plus2", "twatch_s3"]
DRIVERS = {"st7789", "ssd1306", "drv2605", "axp2101"}
EXPECTED_DRIVERS = {
    "sim": set(),
    "esp32c3": {"ssd1306"},
    "picow": {"ssd1306"},
    "m5stickc_plus2": {"st7789"},
    "twatch_s3": {"st7789", "drv2605", "axp2101"},
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("boards")
    out = {}
    for board in BOARDS:
        out[board] = root / board
        build(out[board], board=board)
    return out


def _manifest_files(bundle: Path) -> set[str]:
    text = (bundle / "manifest.py").read_text()
    ast.parse(text)  # a manifest is Python
    block = re.search(r"files=\((.*?)\),", text, re.S)
    assert block is not None
    return set(ast.literal_eval("(" + block.group(1) + ")"))


@pytest.mark.parametrize("board", list(BOARDS))
def test_a_board_bundle_holds_its_profile_and_only_its_drivers(
    bundles: dict[str, Path], board: str
) -> None:
    bundle = bundles[board]
    paths = {f.path for f in read_index(bundle)}
    profiles = {p for p in paths if re.fullmatch(r"repcue_fw/boards/[a-z0-9_]+\.mpy", p)}
    others = {f"repcue_fw/boards/{b}.mpy" for b in BOARDS if b not in ("sim", board)}
    assert not profiles & others
    drivers = {Path(p).stem for p in paths if p.startswith("repcue_fw/drivers/")} - {"__init__"}
    assert drivers == EXPECTED_DRIVERS[board]
    assert drivers <= DRIVERS
    has_sim = any(p.startswith("repcue_fw/boards/sim/") for p in paths)
    assert has_sim == (board == "sim")
    if board == "sim":
        assert "repcue_fw/boards/sim/__init__.mpy" in paths
        assert "repcue_fw/boards/hw.mpy" not in paths
    else:
        assert f"repcue_fw/boards/{board}.mpy" in paths
        assert "repcue_fw/boards/hw.mpy" in paths
        assert "repcue_fw/boards/parts.mpy" in paths
    assert not any("/wire/host" in p for p in paths)
    assert "repcue_fw/engine.mpy" in paths
    # the manifest freezes exactly the compiled modules, from the bundle's source copy
    mpys = {p.removeprefix("repcue_fw/").removesuffix(".mpy") + ".py" for p in paths - {"main.py"}}
    assert _manifest_files(bundle) == mpys
    for name in _manifest_files(bundle):
        assert (bundle / "src" / "repcue_fw" / name).exists()
    main_py = (bundle / "main.py").read_text()
    assert f"app.main({board!r})" in main_py
    assert json.loads((bundle / "bundle.json").read_text())["board"] == board
    # the screen UI package goes with every board once it exists
    screen = ROOT / "firmware" / "repcue_fw" / "screen"
    if screen.is_dir():
        assert any(p.startswith("repcue_fw/screen/") for p in paths)


def test_the_m5_bundle_raises_its_power_hold_before_importing_the_firmware(
    bundles: dict[str, Path],
) -> None:
    main_py = (bundles["m5stickc_plus2"] / "main.py").read_text()
    hold = main_py.index("machine.Pin(4, machine.Pin.OUT, value=1)")
    assert hold < main_py.index("from repcue_fw import app")
    for board in ("esp32c3", "twatch_s3"):
        assert "machine.Pin(" not in (bundles[board] / "main.py").read_text()


def test_the_host_table_agrees_with_the_board_profiles() -> None:
    names = [b for b in BOARDS if b != "sim"]
    code = f"""
import json, machine
from repcue_fw.boards import load
print(json.dumps({{n: load(n).PROFILE.get("hold") for n in {names!r}}}))
"""
    holds = json.loads(run_mpy(code, extra_path=[STANDINS]).strip().splitlines()[-1])
    assert holds == {b: BOARDS[b].hold_gpio for b in names}
    profiles = {p.stem for p in (ROOT / "firmware" / "repcue_fw" / "boards").glob("*.py")}
    assert set(names) <= profiles


@pytest.mark.parametrize("board", HARDWARE)
def test_a_board_bundle_alone_builds_its_board_in_the_vm(
    bundles: dict[str, Path], board: str
) -> None:
    # only the bundle on the path: a module the board needs and the bundle lacks fails here
    config = "wearables.OLED_CONFIG" if board == "esp32c3" else "None"
    code = f"""
import json, wearables
board, parts = wearables.make({board!r}, {config})
missing = []
for name in ("st7789", "ssd1306", "drv2605", "axp2101"):
    try:
        __import__("repcue_fw.drivers." + name)
    except ImportError:
        missing.append(name)
import repcue_fw.boards.hw as hw
print(json.dumps([board.name, hw.__file__.endswith(".mpy"), board.display is not None,
                  missing]))
"""
    env = dict(os.environ, MICROPYPATH=f"{bundles[board]}:{VM_HELPERS}:{STANDINS}:.frozen")
    proc = subprocess.run(
        [micropython_binary(), "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name, from_mpy, has_display, missing = json.loads(proc.stdout.strip().splitlines()[-1])
    assert name == board and from_mpy is True
    assert has_display is (board != "picow")
    assert set(missing) == DRIVERS - EXPECTED_DRIVERS[board]


def test_cli_build_board_json_and_manifest_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "tw"
    assert (
        cli_main(["firmware", "build", "--board", "twatch_s3", "-o", str(out_dir), "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["board"] == "twatch_s3"
    assert out["manifest"] == str((out_dir / "manifest.py").resolve())
    assert any(f["path"] == "repcue_fw/drivers/drv2605.mpy" for f in out["files"])
    assert (
        cli_main(["firmware", "build", "--board", "twatch_s3", "-o", str(out_dir), "--manifest"])
        == 0
    )
    text = capsys.readouterr().out
    assert "BOARD=ESP32_GENERIC_S3 BOARD_VARIANT=SPIRAM_OCT" in text
    assert "FROZEN_MANIFEST=" in text


def test_an_unknown_board_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BuildError, match="no board 'tamagotchi'"):
        build(tmp_path / "x", board="tamagotchi")
    with pytest.raises(SystemExit):
        cli_main(["firmware", "build", "--board", "tamagotchi", "-o", str(tmp_path / "y")])
    assert "invalid choice" in capsys.readouterr().err


def test_cli_install_board_builds_that_boards_bundle(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from repcue.cli import firmware_cmd
    from repcue.firmware_build import InstallReport

    seen: list[str] = []

    def fake_install(bundle: Path, port: str, **_kw: object) -> InstallReport:
        seen.extend(f.path for f in read_index(bundle))
        seen.append((bundle / "main.py").read_text())
        return InstallReport(copied=[], skipped=[], removed=[])

    monkeypatch.setattr(firmware_cmd, "install", fake_install)
    args = ["firmware", "install", "--port", "/dev/null", "--board", "m5stickc_plus2"]
    assert cli_main(args) == 0
    assert "repcue_fw/boards/m5stickc_plus2.mpy" in seen
    assert "repcue_fw/boards/esp32c3.mpy" not in seen
    assert "app.main('m5stickc_plus2')" in seen[-1]
