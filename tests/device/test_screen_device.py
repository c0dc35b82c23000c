"""The virtual device's screen: the real firmware with a panel (SimOptions.screen), its frame
fetched over the control channel (op "screen") and through `repcue sim screenshot` as a
PNG. Pixels are read back: the countdown changes when a second passes on the stepped clock,
the kind's colour changes from work to recovery, the CLI's PNG is the frame."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from repcue.sim import buttons
from repcue.sim.screen import DEFAULT_SCREEN, MONO_SCREEN, frame_from_reply, quantize, read_png
from tests.device.conftest import Start, intervals_program
from tests.device.proto import RawClient

W, H = DEFAULT_SCREEN["w"], DEFAULT_SCREEN["h"]
KIND = (0, 0, W, 28)
DIGITS = (0, 64, W, 72)


def test_the_virtual_device_screen_counts_down_and_colours_the_step(start_device: Start) -> None:
    dev = start_device(clock="stepped", screen=dict(DEFAULT_SCREEN))
    client = RawClient(dev.pty_path)
    try:
        client.upload(intervals_program())
    finally:
        client.close()
    ctl = dev.require_control()
    ctl.advance(2100)  # the idle screen notices the new program within 2 s
    idle = dev.screenshot()
    ctl.press("start")
    ctl.advance(400)
    warmup = dev.screenshot()
    ctl.advance(1000)
    warmup_1s = dev.screenshot()
    ctl.press("skip")
    ctl.advance(400)
    work = dev.screenshot()
    ctl.press("lap")
    ctl.advance(400)
    recovery = dev.screenshot()
    assert idle.crop(*KIND) != warmup.crop(*KIND)
    assert warmup.crop(*DIGITS) != warmup_1s.crop(*DIGITS)  # 0:30 -> 0:29
    assert warmup.lit(*DIGITS) > 200
    assert work.dominant(*KIND) == quantize((255, 72, 0))
    assert recovery.dominant(*KIND) == quantize((0, 200, 80))
    # the 400 m at 3:00/km: the ghost line under the pace
    assert work.lit(0, 160, W, 24) > 50
    assert recovery.lit(0, 160, W, 24) == 0


def test_a_monochrome_virtual_screen(start_device: Start) -> None:
    dev = start_device(clock="stepped", screen=dict(MONO_SCREEN))
    frame = dev.screenshot()
    assert (frame.w, frame.h, frame.mono) == (128, 64, True)
    assert frame.lit(0, 0, 128, 16) > 50  # "READY"


def test_repcue_sim_screenshot_writes_the_frame_as_a_png(tmp_path: Path) -> None:
    env = dict(os.environ)  # with the test's private registry (conftest)
    serve = subprocess.Popen(
        [sys.executable, "-m", "repcue", "sim", "serve", "--json", "--screen", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        info = json.loads(serve.stdout.readline())
        out = tmp_path / "screen.png"
        shot = subprocess.run(
            [sys.executable, "-m", "repcue", "sim", "screenshot", "-o", str(out),
             "--device", f"serial:{info['port']}"],
            capture_output=True, text=True, env=env, timeout=30,
        )  # fmt: skip
        assert shot.returncode == 0, shot.stderr
        w, h, rows = read_png(out.read_bytes())
        assert (w, h) == (W, H)
        frame = frame_from_reply(buttons.screen(buttons.find_served(info["port"])))
        assert rows == frame.rows()  # the idle screen: it stands still
        assert frame.lit(0, 0, W, 32) > 100
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
