"""The virtual device end to end: the real firmware in the micropython binary, its pty opened
with pyserial like a USB port, buttons and the cue log over the control channel."""

from __future__ import annotations

import time

import pytest

from repcue.errors import SimError
from repcue.sim import AutopilotOptions, list_running
from repcue.sim import autopilot as pilot
from repcue_fw.wire import events as ev
from repcue_fw.wire.events import EV_FINISH, EV_LAP, EV_SESSION_START, EV_STEP_END, EV_STEP_START
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records
from repcue_fw.wire.host.events import cue_name
from tests.device.conftest import Start, intervals_program, short_program
from tests.device.proto import RawClient

PERIOD = 1 << 30


def test_boots_and_answers_hello_over_the_pty(start_device: Start) -> None:
    dev = start_device(clock="stepped", device_id="00a1b2c3d4e5")
    client = RawClient(dev.pty_path)
    try:
        info = client.hello()
    finally:
        client.close()
    device_id, name, board, firmware = info[-4:]
    assert board == b"sim" and firmware == b"0.1.0"
    assert device_id == bytes.fromhex("00a1b2c3d4e5")
    assert name == b"repcue-d4e5"
    assert dev.control is not None and dev.control.boot is not None
    assert dev.control.boot["id"] == "00a1b2c3d4e5"
    assert [d.pty_path for d in list_running()] == [dev.pty_path]


def test_stepped_clock_with_autopilot_cues_every_change_on_its_exact_ms_across_the_wrap(
    start_device: Start,
) -> None:
    dev = start_device(
        clock="stepped", ticks_start_ms=PERIOD - 100_000, autopilot=AutopilotOptions()
    )
    client = RawClient(dev.pty_path)
    try:
        client.upload(intervals_program())
        done = pilot.run_to_finish(dev, start=True)
        stored = client.sessions()
        data = client.read_session(stored[0][0])
    finally:
        client.close()
    ctl = dev.require_control()
    starts = [(e.ms, e.b) for e in ctl.events(EV_STEP_START)]
    # warm-up 30 s; 400 m at 3:00/km lapped by the autopilot at exactly 72 s; 60 s jog
    expected_ms = [0, 30_000]
    for _ in range(3):
        expected_ms += [expected_ms[-1] + 72_000, expected_ms[-1] + 132_000]
    assert [ms for ms, _ in starts] == expected_ms
    assert done["ms"] == expected_ms[-1] + 20_000
    change_cues = [c for c in ctl.cues() if c.cue_id != ev.CUE_COUNTDOWN]
    assert all(c.late_ms == 0 for c in ctl.cues())
    # the clock wrapped (2**30 ms) 100 s in, in the middle of the first rep
    ticks = [c.ticks for c in change_cues]
    assert ticks[0] == PERIOD - 100_000 and ticks[-1] < ticks[0]
    assert [c.cue_id for c in change_cues][-2:] == [ev.CUE_COOLDOWN, ev.CUE_FINISH]
    session = records.decode_session(data)
    assert session.complete
    assert [s.elapsed_ms for s in session.steps] == [30_000, *[72_000, 60_000] * 3, 20_000]
    assert [s.end_reason for s in session.steps][1] == records.END_LAP


def test_accelerated_clock_runs_a_minute_long_program_in_well_under_a_minute(
    start_device: Start,
) -> None:
    # x20: a countdown tick more than 500 device ms late is dropped by design, which at x20
    # is a 25 ms stall of a busy laptop (the stepped-clock tests count the ticks exactly)
    dev = start_device(speed=20)
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
    finally:
        client.close()
    ctl = dev.require_control()
    done = pilot.run_to_finish(dev, start=True, timeout_s=30)
    assert done["ms"] >= 60_000
    names = [cue_name(c.cue_id) for c in ctl.cues() if c.cue_id != ev.CUE_COUNTDOWN]
    assert names == ["work", "recovery", "last_rep", "recovery", "finish"]
    # countdown: 2 ticks before each of the four changes, less any a stall made stale
    assert 4 <= sum(1 for c in ctl.cues() if c.cue_id == ev.CUE_COUNTDOWN) <= 8


def test_physical_button_gestures_start_lap_skip_and_stop(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
    finally:
        client.close()
    ctl = dev.require_control()
    ctl.hold(1, 100)  # B, short: starts a session when none runs
    ctl.advance(1000)
    started = ctl.events(EV_SESSION_START)
    assert len(started) == 1 and started[0].ms == 400  # after B's double-press window
    ctl.hold(0, 150, at_ms=2000)  # A: a lap inside the 20 s work step, at the press edge
    ctl.hold(1, 80, at_ms=3000)  # B twice: skip the step
    ctl.hold(1, 80, at_ms=3200)
    ctl.advance(3000)
    assert [(e.a, e.b) for e in ctl.events(EV_LAP)] == [(0, 2000 - 400)]
    ends = ctl.events(EV_STEP_END)
    assert [(e.a, e.b, e.ms) for e in ends] == [(0, records.END_SKIP, 3280)]
    ctl.hold(1, 1500)  # B, held: stop and save
    ctl.advance(2000)
    assert [e.a for e in ctl.events(EV_FINISH)] == [records.END_STOPPED]


def test_flash_image_and_device_id_survive_a_restart(start_device: Start, tmp_path) -> None:  # type: ignore[no-untyped-def]
    flash = tmp_path / "dev.img"
    program = short_program()
    dev = start_device(clock="stepped", flash=flash)
    client = RawClient(dev.pty_path)
    try:
        pid = client.upload(program)
    finally:
        client.close()
    pilot.run_to_finish(dev, start=True)
    first_id = dev.device_id
    dev.stop()
    assert flash.exists()
    again = start_device(clock="stepped", flash=flash)
    client = RawClient(again.pty_path)
    try:
        info = client.hello()
        stored = client.sessions()
    finally:
        client.close()
    assert again.device_id == first_id
    assert info[7] == pid == wp.program_id(program)  # the installed program id
    assert [(sid, complete) for sid, _, complete in stored] == [(1, True)]


def test_power_cycle_keeps_the_pty_path_and_boots_again(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    path = dev.pty_path
    client = RawClient(path)
    try:
        client.upload(short_program())
        dev.require_control().press("start")
        dev.require_control().advance(5000)
        old_pid = dev.proc.pid if dev.proc else 0
        dev.power_cycle()
        assert dev.pty_path == path and dev.proc is not None and dev.proc.pid != old_pid
        client.decoder.reset()
        stored = client.sessions()
    finally:
        client.close()
    # the session cut by the power loss is still there, closed at boot
    assert len(stored) == 1
    assert dev.boots == 2


def test_autopilot_noise_is_seeded_and_bounded(start_device: Start) -> None:
    dev = start_device(clock="stepped", autopilot=AutopilotOptions(noise_frac=0.1, seed=7))
    client = RawClient(dev.pty_path)
    try:
        client.upload(intervals_program())
    finally:
        client.close()
    pilot.run_to_finish(dev, start=True)
    starts = [e.ms for e in dev.require_control().events(EV_STEP_START)]
    reps = [starts[i + 1] - starts[i] for i in (1, 3, 5)]
    # noise_frac 0.1: sd 10 %, never beyond 3 sd
    assert all(72_000 * 0.7 <= ms <= 72_000 * 1.3 for ms in reps)
    assert len(set(reps)) > 1  # noisy, not all on pace


def test_autopilot_runs_like_a_runner_surging_tiring_and_drifting(start_device: Start) -> None:
    pilot_options = AutopilotOptions(surge_frac=0.05, tire_frac=0.02, drift_frac=0.1, seed=3)
    dev = start_device(clock="stepped", autopilot=pilot_options)
    program = wp.encode(
        wp.Program(
            [
                wp.Step(wp.KIND_WARMUP, wp.END_TIME, 30),
                wp.Repeat(
                    4,
                    [
                        wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 400, wp.TARGET_PACE, 0, 1800),
                        wp.Step(wp.KIND_RECOVERY, wp.END_OPEN, 60),
                    ],
                ),
            ]
        )
    )
    client = RawClient(dev.pty_path)
    try:
        client.upload(program)
    finally:
        client.close()
    finish = pilot.run_to_finish(dev, start=True)
    starts = [e.ms for e in dev.require_control().events(EV_STEP_START)]
    times = [b - a for a, b in zip(starts, [*starts[1:], starts[0] + finish["b"]], strict=True)]
    reps, jogs = times[1::2], times[2::2]
    # 72 s on pace: 5 % fast at first, 2 % slower each rep; the jogs 10 % longer each time
    assert [round(ms / 100) for ms in reps] == [684, 698, 713, 727]
    assert [round(ms / 100) for ms in jogs] == [600, 660, 720, 780]


@pytest.mark.parametrize(("pace_factor", "rep_ms"), [(1.1, 79_200), (0.9, 64_800)])
def test_autopilot_pace_factor_runs_every_rep_slower_or_faster_than_target(
    start_device: Start, pace_factor: float, rep_ms: int
) -> None:
    dev = start_device(clock="stepped", autopilot=AutopilotOptions(pace_factor=pace_factor))
    client = RawClient(dev.pty_path)
    try:
        client.upload(intervals_program())
    finally:
        client.close()
    pilot.run_to_finish(dev, start=True)
    starts = [e.ms for e in dev.require_control().events(EV_STEP_START)]
    reps = [starts[i + 1] - starts[i] for i in (1, 3, 5)]
    # 72 s on pace: every rep this factor of it (the recoveries, timed, are not the runner's)
    assert reps == [rep_ms] * 3


def test_autopilot_pace_factor_out_of_range_is_refused() -> None:
    with pytest.raises(SimError, match=r"pace factor must be 0\.5\.\.2"):
        AutopilotOptions(pace_factor=3.0).to_config()


def test_bad_control_requests_get_errors_not_a_dead_channel(start_device: Start) -> None:
    dev = start_device()  # real clock: advance is refused
    ctl = dev.require_control()
    with pytest.raises(SimError, match="stepped"):
        ctl.advance(100)
    with pytest.raises(SimError, match="unknown op"):
        ctl.request("fly")
    with pytest.raises(SimError, match="no physical button"):
        ctl.hold(5, 100)
    assert ctl.now()[1] >= 0


def test_a_device_whose_host_vanishes_powers_itself_off(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    proc = dev.proc
    assert proc is not None and dev.control is not None
    dev.control.close()  # as if the host process died without stopping the device
    dev.control = None
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is not None


def test_heap_option_reaches_the_firmware(start_device: Start) -> None:
    dev = start_device(clock="stepped", heap_kb=320)
    client = RawClient(dev.pty_path)
    try:
        free_heap = client.hello()[4]
    finally:
        client.close()
    assert isinstance(free_heap, int) and 0 < free_heap < 320 * 1024


def test_a_heap_too_small_to_boot_is_reported_with_the_traceback(start_device: Start) -> None:
    with pytest.raises(SimError, match="MemoryError"):
        start_device(clock="stepped", heap_kb=32)


def test_power_cut_mid_session_keeps_every_completed_session(
    start_device: Start,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    dev = start_device(clock="stepped", flash=tmp_path / "cut.img")
    client = RawClient(dev.pty_path)
    try:
        client.upload(short_program())
        pilot.run_to_finish(dev, start=True)
        before = client.read_session(1)
        ctl = dev.require_control()
        ctl.press("start")
        ctl.advance(5_000)
        ctl.request("cut", after=1)  # the next flash write is torn, then no more power
        ctl.advance(30_000)  # the step change at 20 s writes to the flash
        assert ctl.wait_for(lambda r: r.get("k") == "cut", 5)
        dev.power_cycle()
        client.decoder.reset()
        stored = client.sessions()
        after = client.read_session(1)
    finally:
        client.close()
    assert after == before
    print("STORED", stored)
    assert [sid for sid, _, _ in stored][:1] == [1]
    assert records.decode_session(after).complete


def test_start_virtual_device_is_what_the_sim_transport_calls() -> None:
    from repcue.sim import start_virtual_device

    dev = start_virtual_device(speed=10, clock="stepped")
    try:
        assert dev.running and dev.serial_path == dev.pty_path
        assert dev.options.speed == 10
    finally:
        dev.close()
    assert not dev.running
