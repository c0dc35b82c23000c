"""Sleep between sessions on the virtual device (stepped clock: every instant is exact). The
board sleeps once nothing has happened for sleep_after_ms, says so on the control channel,
and a press or a byte on the serial port wakes it; a session started from sleep, a sync
after one and the wall clock all come through whole."""

from __future__ import annotations

from typing import Any

from repcue.sim.control import ControlClient
from repcue_fw.wire import events as ev
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import records
from tests.device.conftest import Start, short_program
from tests.device.proto import RawClient

AFTER_MS = 5_000
EPOCH_MS = 1_800_000_000_000


def _kind(ctl: ControlClient, kind: str) -> list[dict[str, Any]]:
    return [r for r in list(ctl.records) if r.get("k") == kind]


def _asleep(ctl: ControlClient) -> bool:
    return len(_kind(ctl, "sleep")) > len(_kind(ctl, "wake"))


def test_no_sleep_unless_the_board_is_told(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    ctl = dev.require_control()
    ctl.advance(3_600_000)
    assert _kind(ctl, "sleep") == []


def test_a_press_wakes_the_board_and_starts_a_session(start_device: Start) -> None:
    dev = start_device(clock="stepped", sleep_after_ms=AFTER_MS)
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        client.request(op.OP_SET_TIME, op.instant_req(EPOCH_MS))
        _, set_ms = ctl.now()
        ctl.advance(AFTER_MS - 1)
        assert not _asleep(ctl)  # the upload and SET_TIME were activity
        ctl.advance(1)
        sleep = _kind(ctl, "sleep")
        assert len(sleep) == 1 and sleep[0]["ms"] == set_ms + AFTER_MS
        ctl.advance(25 * 60_000)  # asleep through two of the clock's rebase periods
        assert _asleep(ctl)
        assert [w["why"] for w in _kind(ctl, "wake")] == ["timer", "timer"]
        _, press_ms = ctl.now()
        ctl.press("pause")  # button B starts a session when none runs
        ctl.advance(1)
        woke = _kind(ctl, "wake")[-1]
        assert (woke["why"], woke["ms"]) == ("button", press_ms)
        started = ctl.events(ev.EV_SESSION_START)
        assert [e.ms for e in started] == [press_ms]
        ctl.advance(AFTER_MS * 10)  # a session runs: no sleep however long it is quiet
        assert not _asleep(ctl)
        ctl.advance(60_000)
        assert ctl.events(ev.EV_FINISH)
        ctl.advance(AFTER_MS)
        assert _asleep(ctl)  # asleep again once the session is over
        # the wall clock ran on through the sleeps, to the millisecond's second
        _, now_ms = ctl.now()
        clock_s = client.hello()[6]
        session = records.decode_session(client.read_session(started[0].a))
    finally:
        client.close()
    assert clock_s == (EPOCH_MS + now_ms - set_ms) // 1000
    assert session.start_wall_s == (EPOCH_MS + press_ms - set_ms) // 1000
    assert len(session.steps) == 4  # 2 x (work, recovery): the whole session recorded


def test_serial_bytes_wake_the_board_for_a_sync(start_device: Start) -> None:
    dev = start_device(clock="stepped", sleep_after_ms=AFTER_MS)
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        ctl.press("start")
        ctl.advance(61_000 + AFTER_MS)
        assert _asleep(ctl)
        # the host comes back: its first frame wakes the board and is answered
        mark = len(ctl.records)
        listing = client.sessions()
        # (the wake record comes over the control socket: it may trail the reply)
        woke = ctl.wait_for(lambda r: r.get("k") == "wake", timeout_s=5, start=mark)
        assert woke["why"] == "serial"
        assert not _asleep(ctl)
        assert len(listing) == 1
        session = records.decode_session(client.read_session(listing[0][0]))
        assert len(session.steps) == 4
        client.request(op.OP_ACK_SESSIONS, op.ack_sessions_req([listing[0][0]]))
        ctl.advance(AFTER_MS - 1)
        assert not _asleep(ctl)  # the sync's frames count as activity
        ctl.advance(1)
        assert _asleep(ctl)
    finally:
        client.close()


def test_deep_sleep_comes_after_its_quiet_time_with_the_wall_clock(start_device: Start) -> None:
    dev = start_device(clock="stepped", sleep_after_ms=AFTER_MS, deep_after_ms=60_000)
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.request(op.OP_SET_TIME, op.instant_req(EPOCH_MS + 250))
        _, set_ms = ctl.now()
        ctl.advance(60_000 - 1)
        assert _kind(ctl, "deep") == []
        # the light sleep was cut to end where deep sleep is due
        assert [s["for"] for s in _kind(ctl, "sleep")] == [60_000 - AFTER_MS]
        ctl.advance(1)
        deep = _kind(ctl, "deep")
    finally:
        client.close()
    assert len(deep) == 1
    assert deep[0]["ms"] == set_ms + 60_000
    assert deep[0]["wall_ms"] == EPOCH_MS + 250 + 60_000  # what the RTC would keep, to the ms


def test_the_screen_sleeps_with_the_board_and_wakes_on_a_press(start_device: Start) -> None:
    dev = start_device(clock="stepped", sleep_after_ms=AFTER_MS, screen={"w": 135, "h": 240})
    ctl = dev.require_control()
    ctl.advance(100)
    assert ctl.request("screen")["on"] is True
    ctl.advance(AFTER_MS)
    assert _asleep(ctl)
    assert ctl.request("screen")["on"] is False  # the panel off while the board sleeps
    ctl.press("lap")
    ctl.advance(1)
    assert not _asleep(ctl)
    assert ctl.request("screen")["on"] is True
