"""START at a wall-clock instant, SET_TIME with milliseconds and PRESS, through the app and
the runner in the virtual device (stepped clock: the device's time moves only when told, so
every instant is checked to the millisecond)."""

from __future__ import annotations

import pytest

from repcue_fw.wire import events as ev
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import records
from tests.device.conftest import Start, short_program
from tests.device.proto import RawClient

WRAP = 1 << 30  # the sim board's tick period, as ticks_ms on a 32-bit board


def _start_at(client: RawClient, unix_ms: int) -> int:
    return int.from_bytes(client.request(op.OP_START, op.instant_req(unix_ms))[:4], "little")


def _press(client: RawClient, button: int) -> bool:
    return client.request(op.OP_PRESS, op.press_req(button)) == b"\x01"


def test_a_start_waits_for_its_instant_across_the_tick_wrap(start_device: Start) -> None:
    dev = start_device(clock="stepped", ticks_start_ms=WRAP - 3_000)
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        client.request(op.OP_SET_TIME, op.instant_req(1_800_000_000_999))
        set_ticks, set_ms = ctl.now()
        ctl.advance(1)  # the clock has milliseconds: .999 + 1 ms is the next second
        assert client.hello()[6] == 1_800_000_001
        assert _start_at(client, 1_800_000_005_500) == 0  # scheduled: no id yet
        ctl.advance(4_501 - 1 - 1)  # to 1 ms before the instant
        assert not ctl.events(ev.EV_SESSION_START)
        ctl.advance(1)  # on the instant, past the 30-bit wrap
        started = ctl.events(ev.EV_SESSION_START)
        assert [e.ms for e in started] == [set_ms + 4_501]
        client.request(op.OP_STOP)
        ctl.advance(100)
        session = records.decode_session(client.read_session(started[0].a))
    finally:
        client.close()
    assert session.start_wall_s == 1_800_000_005  # the instant, not when START came
    assert session.start_uptime_ms == (set_ticks + 4_501) % WRAP
    assert session.start_uptime_ms < set_ticks  # the tick wrapped on the way


def test_a_button_start_or_a_stop_cancels_a_pending_start(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        client.request(op.OP_SET_TIME, op.instant_req(1_800_000_000_000))
        _start_at(client, 1_800_000_002_000)
        ctl.press("start")  # the runner's own button: at once, and the pending start is gone
        ctl.advance(1_000)
        client.request(op.OP_STOP)
        ctl.advance(5_000)
        assert len(ctl.events(ev.EV_SESSION_START)) == 1
        _start_at(client, 1_800_000_010_000)
        _start_at(client, 1_800_000_011_000)  # replaces the first
        ctl.advance(4_500)  # past the first instant
        assert len(ctl.events(ev.EV_SESSION_START)) == 1
        ctl.press("stop")  # the stop button cancels it too
        ctl.advance(2_000)
        assert len(ctl.events(ev.EV_SESSION_START)) == 1
        with pytest.raises(RuntimeError, match="no session running"):
            client.request(op.OP_STOP)  # nothing left to cancel
    finally:
        client.close()


def test_refusals_of_a_start_at_an_instant(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    client = RawClient(dev.pty_path)
    try:
        with pytest.raises(RuntimeError, match=r"bad state \(0\): b'clock not set"):
            _start_at(client, 1_800_000_002_000)
        client.request(op.OP_SET_TIME, op.instant_req(1_800_000_000_000))
        with pytest.raises(RuntimeError, match=r"bad state \(0\): b'no program"):
            _start_at(client, 1_800_000_002_000)
        client.upload(short_program())
        with pytest.raises(RuntimeError, match=r"bad request \(0\): b'start instant is past"):
            _start_at(client, 1_800_000_000_000)
        with pytest.raises(RuntimeError, match=r"bad request \(0\): b'start instant over 10"):
            _start_at(client, 1_800_000_600_001)
        assert _start_at(client, 1_800_000_600_000) == 0  # 10 min ahead: still taken
        client.request(op.OP_START)  # now: replaces the pending one
        with pytest.raises(RuntimeError, match="busy"):
            _start_at(client, 1_800_000_002_000)
        client.request(op.OP_STOP)
    finally:
        client.close()


def test_press_acts_as_the_device_buttons(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        assert not _press(client, ev.BTN_PAUSE)  # a remote pause never starts a session
        assert not ctl.events(ev.EV_SESSION_START)
        client.request(op.OP_START)
        ctl.advance(5_000)
        assert _press(client, ev.BTN_LAP)
        assert _press(client, ev.BTN_PAUSE)
        ctl.advance(3_000)
        assert _press(client, ev.BTN_PAUSE)  # resumes
        assert _press(client, ev.BTN_SKIP)
        ctl.advance(100)
    finally:
        client.close()
    assert [e.b for e in ctl.events(ev.EV_LAP)] == [5_000]
    assert [e.b for e in ctl.events(ev.EV_RESUME)] == [3_000]
    assert [e.b for e in ctl.events(ev.EV_STEP_END)] == [records.END_SKIP]
