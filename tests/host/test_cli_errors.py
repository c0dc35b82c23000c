"""What `repcue` says when the device side is wrong, through main(): a missing port, a busy
port, a board without the repcue firmware (a bare MicroPython REPL), a device speaking
another protocol version, and a port nobody answers. Each is one clear line on stderr, a
distinct exit code, and no traceback."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from repcue.cli import device_cmd, main
from repcue.devices import open_device
from repcue.errors import (
    NoFirmwareError,
    PortBusyError,
    PortNotFoundError,
    RepcueTimeoutError,
    VersionMismatchError,
)
from repcue.firmware_build.source import firmware_root
from repcue.sim import SimOptions, VirtualDevice
from repcue.sim.options import micropython_binary

ERRORS = (PortNotFoundError, PortBusyError, NoFirmwareError, VersionMismatchError)
DEVICE_COMMANDS = [["info"], ["time", "sync"], ["start"], ["stop"], ["sync"], ["upload", "6x800m"]]


@pytest.fixture(autouse=True)
def _quick_and_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The link's own retry timing, shortened: a silent port is found out in ~0.5 s, not 5.
    quick = functools.partial(open_device, timeout_s=0.2, retries=1)
    monkeypatch.setattr(device_cmd, "open_device", quick)
    monkeypatch.setenv("REPCUE_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("REPCUE_SIM_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.delenv("REPCUE_DEVICE", raising=False)


@pytest.fixture
def pty_path() -> Iterator[tuple[int, str]]:
    """A raw pseudo-terminal: (master fd, the path a host opens). Nobody answers on it."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def run(argv: list[str], capsys: pytest.CaptureFixture[str], device: str) -> tuple[int, str, str]:
    code = main([*argv, "--device", device])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, pattern: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), lines[0]


def test_the_error_classes_have_distinct_exit_codes() -> None:
    codes = [cls.exit_code for cls in (*ERRORS, RepcueTimeoutError)]
    assert len(set(codes)) == len(codes)
    assert 0 not in codes and 1 not in codes  # not success, not the generic error


@pytest.mark.parametrize("argv", DEVICE_COMMANDS, ids=lambda a: "-".join(a))
def test_missing_port(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys, "serial:/dev/ttyACM-repcue-none")
    assert code == PortNotFoundError.exit_code
    assert_one_line(err, r"serial port /dev/ttyACM-repcue-none does not exist")
    assert out == ""


def test_no_board_for_serial_auto(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("repcue.link.serial.list_ports.comports", list)
    code, _, err = run(["info"], capsys, "serial:auto")
    assert code == PortNotFoundError.exit_code
    assert_one_line(err, r"no MicroPython board found on USB")


def test_busy_port(pty_path: tuple[int, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, path = pty_path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import serial, sys\n"
            f"port = serial.Serial({path!r}, exclusive=True)\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        code, _, err = run(["info"], capsys, f"serial:{path}")
    finally:
        holder.communicate("")  # closing its stdin ends it
    assert code == PortBusyError.exit_code
    assert_one_line(err, rf"serial port {re.escape(path)} is busy")


def test_a_port_nobody_answers_times_out(
    pty_path: tuple[int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    master, path = pty_path
    code, _, err = run(["info"], capsys, f"serial:{path}")
    assert code == RepcueTimeoutError.exit_code
    assert_one_line(err, rf"serial:{re.escape(path)}: no answer to HELLO after 2 tries")
    assert os.read(master, 4096).count(b"\x00") >= 2  # the request really went out, twice


def test_a_board_with_only_the_micropython_repl(
    pty_path: tuple[int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    master, path = pty_path
    repl = subprocess.Popen(
        [micropython_binary()],
        stdin=master,
        stdout=master,
        stderr=master,
        start_new_session=True,
    )
    try:
        code, _, err = run(["info"], capsys, f"serial:{path}")
    finally:
        repl.kill()
        repl.wait()
    assert code == NoFirmwareError.exit_code
    assert_one_line(err, r"answers with a MicroPython REPL, not the repcue firmware")


def _firmware_speaking(version: int, target: Path) -> Path:
    """A copy of the firmware that speaks another protocol version."""
    shutil.copytree(firmware_root(), target, ignore=shutil.ignore_patterns("__pycache__", "*.mpy"))
    pattern = re.compile(r"^PROTOCOL_VERSION = const\(\d+\)", re.MULTILINE)
    patched = 0
    for source in (target / "repcue_fw").rglob("*.py"):
        text = source.read_text()
        if pattern.search(text):
            source.write_text(pattern.sub(f"PROTOCOL_VERSION = const({version})", text))
            patched += 1
    assert patched == 1, "where the firmware defines PROTOCOL_VERSION has moved"
    return target


def test_a_device_speaking_another_protocol_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    firmware = _firmware_speaking(2, tmp_path / "fw")
    with VirtualDevice(SimOptions(firmware_dir=firmware, clock="stepped")) as device:
        code, _, err = run(["info"], capsys, f"serial:{device.pty_path}")
        assert device.running  # refusing our version did not hurt it
    assert code == VersionMismatchError.exit_code
    assert_one_line(err, r"the device speaks protocol version 2, this host speaks 1")
