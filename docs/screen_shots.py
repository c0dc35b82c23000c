"""The screenshots of docs/hardware.md ("The screen"), taken by the command a user runs:
`repcue sim serve --screen` runs a virtual device with the M5StickC Plus2's 135x240 panel,
a plan is uploaded and started with the CLI, and `repcue sim screenshot` saves the screen
when it shows the idle screen, a work step (400 m with its ghost) and the recovery after it.

    .venv/bin/python docs/screen_shots.py          # writes docs/screen-{idle,work,recovery}.png

The clock is real (x1): the digits are whatever second the shot fell on.
tests/device/test_screen_docs.py checks the committed PNGs by their pixels.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PLAN = "name: track 6x400\n6x400m @4:00/km w/ 90s jog\n"
SCALE = 2  # each pixel 2x2 in the PNG, as big as the panel on a phone screen
SHOTS = ("idle", "work", "recovery")


def repcue(*args: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "repcue", *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"repcue {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def main(out_dir: Path = DOCS) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, REPCUE_SIM_REGISTRY=str(Path(tmp) / "reg"))
        serve = subprocess.Popen(
            [sys.executable, "-m", "repcue", "sim", "serve", "--screen", "--battery", "82",
             "--json", "--quiet"],
            stdout=subprocess.PIPE, env=env,
        )  # fmt: skip
        try:
            assert serve.stdout is not None
            port = json.loads(serve.stdout.readline())["port"]
            plan = Path(tmp) / "track.txt"
            plan.write_text(PLAN)
            device = f"serial:{port}"
            repcue("upload", str(plan), "--device", device, env=env)
            written = []

            def shot(name: str) -> None:
                path = out_dir / f"screen-{name}.png"
                repcue("sim", "screenshot", "-o", str(path), "--device", device,
                       "--scale", str(SCALE), env=env)  # fmt: skip
                written.append(path)

            time.sleep(2.5)  # the idle screen looks at the program every 2 s
            shot("idle")
            repcue("start", "--device", device, env=env)
            time.sleep(11.5)  # the ghost is 40 m down the track
            shot("work")
            repcue("sim", "press", "lap", "--port", port, env=env)  # 400 m done
            time.sleep(1.5)
            shot("recovery")
            repcue("sim", "press", "stop", "--port", port, env=env)
            return written
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=10)


if __name__ == "__main__":
    for path in main():
        print(path)
