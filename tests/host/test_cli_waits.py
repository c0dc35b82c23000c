"""Waiting for a device: --timeout caps it (a silent port here; a BLE scan in
tests/ble/test_ble_auto.py), and a wait over half a second shows a spinner on stderr when
stderr is a terminal (never in a pipe, never for a quick command)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.devices import open_device
from repcue.errors import RepcueTimeoutError


@pytest.fixture
def silent_port() -> Iterator[str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.fixture(autouse=True)
def _private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REPCUE_DEVICE", raising=False)
    monkeypatch.setenv("REPCUE_DB", str(tmp_path / "s.db"))


def test_timeout_shortens_the_wait_for_a_silent_port(
    silent_port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["info", "--device", silent_port, "--timeout", "0.5"]) == 5
    took = time.monotonic() - started
    assert took < 1.5, took  # 5 s without --timeout
    assert "no answer to HELLO" in capsys.readouterr().err


def test_without_timeout_the_port_gets_its_five_tries_of_a_second() -> None:
    client = open_device("serial:/dev/null")
    assert (client.channel.timeout_s, client.channel.retries) == (1.0, 4)
    quick = open_device("serial:/dev/null", wait_s=0.5)
    assert quick.channel.timeout_s == pytest.approx(0.1)


def _stderr_on_a_terminal(argv: list[str], tmp_path: Path) -> tuple[int, str]:
    """Run repcue with stderr on a pseudo-terminal (stdout a pipe); what the terminal got."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPCUE_")}
    env.update(REPCUE_DB=str(tmp_path / "s.db"), TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", *argv],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    got = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return proc.wait(timeout=30), got.decode(errors="replace")


def test_a_long_wait_shows_a_spinner_on_a_terminal(silent_port: str, tmp_path: Path) -> None:
    code, seen = _stderr_on_a_terminal(
        ["info", "--device", silent_port, "--timeout", "2"], tmp_path
    )
    assert code == RepcueTimeoutError.exit_code
    assert f"waiting for {silent_port} to answer" in seen
    assert "no answer to HELLO" in seen


def test_a_quick_command_shows_none(tmp_path: Path) -> None:
    code, seen = _stderr_on_a_terminal(["plan", "check", "6x800m", "--json"], tmp_path)
    assert code == 0 and "waiting" not in seen and "⠋" not in seen


def test_no_spinner_when_stderr_is_not_a_terminal(silent_port: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "repcue", "info", "--device", silent_port, "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 5 and "waiting for" not in run.stderr
