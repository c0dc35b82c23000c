"""Step times across the ticks wrap, in the real virtual device.

The sim board's 30-bit clock (a 32-bit board's ticks_ms period, 2**30 ms) starts 5 s before
the wrap; a session with laps, a pause and several changes runs across it on the stepped
clock, and both the cue log and the session the journal recorded (read back over the pty)
must show every step at exactly its planned time.
"""

from __future__ import annotations

from repcue_fw.wire import events as ev
from repcue_fw.wire.events import EV_FINISH, EV_SESSION_START, EV_STEP_START
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records
from repcue_fw.wire.host.events import cue_name
from tests.device.conftest import Start
from tests.device.proto import RawClient

PERIOD = 1 << 30
START_TICKS = PERIOD - 5000  # the clock wraps 5 s after boot


def _program() -> bytes:
    """warm-up 3 s, then 2 x (work 4 s, recovery 3 s): 17 s of steps."""
    return wp.encode(
        wp.Program(
            [
                wp.Step(wp.KIND_WARMUP, wp.END_TIME, 3),
                wp.Repeat(
                    2,
                    [
                        wp.Step(wp.KIND_WORK, wp.END_TIME, 4),
                        wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 3),
                    ],
                ),
            ],
            countdown_s=1,
        )
    )


def test_a_session_across_the_ticks_wrap_records_exact_step_times(start_device: Start) -> None:
    dev = start_device(clock="stepped", ticks_start_ms=START_TICKS)
    ctl = dev.require_control()
    client = RawClient(dev.pty_path)
    try:
        client.upload(_program())
        assert ctl.now() == (START_TICKS, 0)
        ctl.press("start")  # at virtual ms 0, tick 2**30 - 5000
        ctl.press("lap", at_ms=4_000)  # inside the first work step (3-7 s) ...
        ctl.press("lap", at_ms=6_000)  # ... and again after the wrap (at 5 s)
        ctl.press("pause", at_ms=8_000)  # in the recovery (7-10 s): 1.5 s of pause
        ctl.press("pause", at_ms=9_500)
        ctl.advance(25_000)
        ctl.wait_event(EV_FINISH)
        stored = client.sessions()
        data = client.read_session(stored[0][0])
    finally:
        client.close()

    started = ctl.events(EV_SESSION_START)
    assert [e.ms for e in started] == [0]
    # changes at their planned ms; the pause moves the ones after it by 1.5 s
    changes = [e.ms for e in ctl.events(EV_STEP_START)]
    assert changes == [0, 3_000, 7_000, 11_500, 15_500]
    finish = ctl.events(EV_FINISH)[0]
    assert finish.ms == 18_500 and finish.b == 18_500  # total ms, pause included
    # the ticks in the log did wrap, and each is the start tick plus its virtual ms
    assert changes[-1] > 5_000 and ctl.events(EV_STEP_START)[-1].ticks < START_TICKS
    for cue in ctl.cues():
        assert cue.ticks == (START_TICKS + cue.ms) % PERIOD
        assert cue.late_ms == 0 and cue.due_ticks == cue.ticks
    assert [cue_name(c.cue_id) for c in ctl.cues() if c.cue_id != ev.CUE_COUNTDOWN] == [
        "warmup",  # the warm-up has a cue of its own
        "work",
        "lap",
        "lap",
        "recovery",
        "pause",
        "resume",
        "last_rep",
        "recovery",
        "finish",
    ]

    session = records.decode_session(data)
    assert session.complete and session.end_reason == records.END_FINISHED
    assert session.start_uptime_ms == START_TICKS  # uptime: the start tick itself
    assert [s.elapsed_ms for s in session.steps] == [3_000, 4_000, 3_000, 4_000, 3_000]
    assert [s.end_reason for s in session.steps] == [records.END_TIME] * 5
    assert session.steps[1].laps_ms == [1_000, 2_000]  # 3 s -> 4 s -> 6 s, across the wrap
    assert (session.paused_ms, session.pauses) == (1_500, 1)
    assert session.total_ms == 18_500
    assert session.late_max_ms == 0
