"""The README's device walkthrough, run as written: its shell block is read from README.md,
`repcue sim serve` is started as the reader starts it (in a terminal of its own), and every
other line runs in a shell, the example port `/dev/pts/3` being the only thing replaced (by
the port sim serve printed, as a reader does). A README that drifts from the CLI fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.errors import SimError
from repcue.sim import SimOptions, VirtualDevice, buttons
from repcue.sim.registry import RunningDevice

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_PORT = "/dev/pts/3"
SERVE = "repcue sim serve"


def walkthrough() -> list[str]:
    """The command lines of the README's shell block that starts with `repcue sim serve`."""
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and lines[0].startswith(SERVE):
            return lines
    raise AssertionError(f"README.md has no ```sh block starting with {SERVE!r}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user of their own: store, profile, keys and the sim registry under tmp_path, and
    this venv's `repcue` first on PATH."""
    user = {k: v for k, v in os.environ.items() if not k.startswith("REPCUE_")}
    return dict(
        user,
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
        REPCUE_SIM_REGISTRY=str(tmp_path / "sims"),
    )


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path, env: dict[str, str]) -> None:
    serve_line, *lines = walkthrough()
    assert any(EXAMPLE_PORT in line for line in lines)
    work = tmp_path / "work"
    work.mkdir()
    serve = subprocess.Popen(
        shlex.split(serve_line, comments=True),
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        found = re.search(r" on (/dev/\S+)", first)
        assert found, f"sim serve printed no port: {first!r}"
        port = found.group(1)
        outputs = []
        for line in lines:
            command = line.replace(EXAMPLE_PORT, port)
            done = subprocess.run(
                ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                timeout=60,
            )  # fmt: skip
            assert done.returncode == 0, f"{line}\n-> exit {done.returncode}: {done.stderr}"
            assert "Traceback" not in done.stderr, f"{line}\n{done.stderr}"
            outputs.append(done.stdout)
        shown = outputs[-1]
        # the session the buttons made: warm-up skipped, one 800 m lapped, then stopped
        assert "stopped" in shown and "reps 1/8" in shown, shown
        assert re.search(r"warmup .* skip", shown) and re.search(r"work .* lap", shown), shown
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=15) == 0
        log = serve.stdout.read()
        assert "step end  step=1 by=lap" in log, log
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_sim_press_without_a_served_device_says_so(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "repcue", "sim", "press", "lap"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0
    assert "no `repcue sim serve` is running" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_served_device_refuses_an_unknown_button_in_words(env: dict[str, str]) -> None:
    with VirtualDevice(SimOptions(clock="stepped")) as dev:
        dev.lend_buttons()
        assert dev.buttons is not None
        served = RunningDevice(dev.pty_path, dev.device_id, 0, 0, "", str(dev.buttons.path))
        buttons.press(served, "start")  # no program: the start is refused, an event says so
        assert dev.require_control().wait_for(lambda r: r.get("k") == "ev", 5)
        with pytest.raises(SimError, match="no button 'jump'"):
            buttons.press(served, "jump")
