"""The app as the link's services (firmware/repcue_fw/app.py), through the virtual device:
errors come back as the right status codes, settings persist on the flash and take effect
(button map, countdown), and the wall clock follows the board's clock once set."""

from __future__ import annotations

from pathlib import Path

import pytest

from repcue_fw.wire import events as ev
from repcue_fw.wire.events import EV_SESSION_START, EV_STEP_END
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import records
from tests.device.conftest import Start, short_program
from tests.device.proto import RawClient


def _config(client: RawClient, mask: int = 0, strength: int = 0, countdown: int = 0,
            buttons: bytes = b"") -> dict[str, object]:  # fmt: skip
    if mask:
        body = client.request(
            op.OP_CONFIG_SET, op.config_set_req(mask, strength, countdown, list(buttons))
        )
    else:
        body = client.request(op.OP_CONFIG_GET)
    return dict(op.get_config(body, 0, len(body)))


def test_refusals_carry_the_right_status(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    client = RawClient(dev.pty_path)
    try:
        with pytest.raises(RuntimeError, match="bad state"):
            client.request(op.OP_START)  # no program installed
        client.upload(short_program())
        client.request(op.OP_START)
        with pytest.raises(RuntimeError, match="busy"):
            client.request(op.OP_START)
        with pytest.raises(RuntimeError, match="busy"):
            client.upload(short_program())  # not while a session runs
        with pytest.raises(RuntimeError, match="not found"):
            client.request(op.OP_READ_SESSION, op.read_session_req(99, 0, 64))
        with pytest.raises(RuntimeError, match="button map"):
            _config(client, op.CFG_BUTTONS, buttons=b"\x03\x00")
        client.request(op.OP_STOP)
    finally:
        client.close()
    refused = [c for c in dev.require_control().cues() if c.cue_id == ev.CUE_REFUSED]
    assert len(refused) == 1  # the first start, without a program


def test_settings_persist_and_take_effect(start_device: Start, tmp_path: Path) -> None:
    flash = tmp_path / "cfg.img"
    dev = start_device(clock="stepped", flash=flash)
    client = RawClient(dev.pty_path)
    try:
        assert _config(client) == {"cue_strength": 100, "countdown_s": 3, "buttons": bytes(
            [3, 0, 0, 2, 4, 5])}  # fmt: skip
        # swap the buttons: A starts/pauses, skips and stops; B laps
        swapped = bytes([2, 4, 5, 3, 0, 0])
        got = _config(client, op.CFG_ALL, strength=40, countdown=5, buttons=swapped)
        assert got == {"cue_strength": 40, "countdown_s": 5, "buttons": swapped}
    finally:
        client.close()
    dev.stop()
    again = start_device(clock="stepped", flash=flash)
    client = RawClient(again.pty_path)
    try:
        assert _config(client)["buttons"] == swapped
        client.upload(short_program())  # its own countdown is 2 s
    finally:
        client.close()
    ctl = again.require_control()
    ctl.hold(0, 100)  # A now starts a session
    ctl.advance(1000)
    assert ctl.events(EV_SESSION_START)
    ctl.advance(20_000)
    ticks = [c.ms for c in ctl.cues() if c.cue_id == ev.CUE_COUNTDOWN]
    start_ms = ctl.events(EV_SESSION_START)[0].ms
    # the device's countdown setting (5 s) replaced the program's default (2 s)
    assert [ms - start_ms for ms in ticks] == [15_000, 16_000, 17_000, 18_000, 19_000]
    _, now = ctl.now()
    ctl.hold(0, 80, at_ms=now + 100)  # A double: skip
    ctl.hold(0, 80, at_ms=now + 300)
    ctl.advance(1000)
    assert [e.b for e in ctl.events(EV_STEP_END)][-1] == records.END_SKIP


def test_wall_clock_follows_the_board_clock_once_set(start_device: Start) -> None:
    dev = start_device(clock="stepped", ticks_start_ms=(1 << 30) - 2_000)
    client = RawClient(dev.pty_path)
    try:
        assert client.hello()[6] == 0  # never set
        body = client.request(op.OP_SET_TIME, op.u32(1_700_000_000))
        assert int.from_bytes(body[:4], "little") == 0  # the previous clock
        dev.require_control().advance(90_500)  # across the 30-bit tick wrap
        assert client.hello()[6] == 1_700_000_090
    finally:
        client.close()
