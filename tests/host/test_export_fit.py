"""FIT activity exports, read back by two independent decoders (Garmin's SDK Decoder with its
integrity check, fitdecode raising on a bad CRC) and compared with the store: laps, session
totals, records, timer events and the workout's steps. Sessions: normal, power-lost, stopped,
paused, and 999 reps."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream

from repcue.export import build_timeline, export_session
from repcue.export.fit import fit_activity
from repcue.export.workout import plan_of_program, session_workout
from repcue.store import Store
from repcue.store.analysis import planned_steps, session_report
from repcue_fw.wire.host import records as wr
from tests.host.export_sessions import (
    DEVICE_ID,
    HILLS,
    PAUSED,
    REPS_999,
    START_S,
    TRACK,
    Made,
    new_store,
    program_of,
    store_session,
)

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "normal": (TRACK, {}),
    "power_lost": (TRACK, {"end": None, "stop_after": 7}),
    "stopped": (TRACK, {"end": wr.END_STOPPED, "stop_after": 9}),
    "paused": (PAUSED, {"paused_ms": 95_250, "pauses": 3}),
    "lap_ended": (HILLS, {}),
    "reps_999": (REPS_999, {"slower_ms": 0}),
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path / "repcue.db")


def sdk_read(data: bytes) -> dict[str, list[dict[str, Any]]]:
    stream = Stream.from_byte_array(bytearray(data))
    decoder = Decoder(stream)
    assert decoder.is_fit()
    assert decoder.check_integrity()
    stream.reset()  # check_integrity() leaves the stream at its end
    messages, errors = decoder.read(convert_datetimes_to_dates=False)
    assert errors == []
    return messages  # type: ignore[no-any-return]


def fitdecode_read(data: bytes) -> Counter[str]:
    names: Counter[str] = Counter()
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as fit:
        for frame in fit:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                names[frame.name] += 1
    return names


def export(store: Store, made: Made) -> tuple[bytes, dict[str, Any]]:
    summary = store.find_session(str(made.row_id))
    return export_session(store, summary, "fit").data, session_report(store, summary)


FIT_EPOCH_S = 631065600


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_export_decodes_and_matches_the_store(store: Store, case: str) -> None:
    text, options = CASES[case]
    made = store_session(store, 1, text, **options)
    data, report = export(store, made)
    m = sdk_read(data)
    names = fitdecode_read(data)
    for key, count in names.items():
        assert len(m[f"{key}_mesgs"]) == count, key  # both decoders see the same file

    head, steps = report["session"], report["steps"]
    file_id = m["file_id_mesgs"][0]
    assert file_id["type"] == "activity" and file_id["manufacturer"] == "development"
    assert file_id["serial_number"] == int(DEVICE_ID[-8:], 16)
    assert m["device_info_mesgs"][0]["software_version"] == pytest.approx(0.04)

    laps = m["lap_mesgs"]
    assert len(laps) == len(steps) == len(made.steps)
    for lap, step, recorded in zip(laps, steps, made.steps, strict=True):
        assert lap["total_timer_time"] == recorded.elapsed_ms / 1000
        assert lap["total_elapsed_time"] == recorded.elapsed_ms / 1000
        if step["distance_m"] is None:
            assert "total_distance" not in lap and "avg_speed" not in lap
        else:
            assert lap["total_distance"] == step["distance_m"]
            assert lap["avg_speed"] == pytest.approx(
                step["distance_m"] / lap["total_timer_time"], abs=1e-3
            )
        expected = {"warmup": "warmup", "work": "active", "cooldown": "cooldown"}
        assert lap["intensity"] == expected.get(step["kind"], "rest")

    session = m["session_mesgs"][0]
    assert session["sport"] == "running"
    assert session["total_timer_time"] == pytest.approx(
        sum(lap["total_timer_time"] for lap in laps)
    )
    assert session["total_elapsed_time"] == pytest.approx(head["duration_ms"] / 1000)
    assert session["num_laps"] == len(laps)
    assert session["start_time"] == START_S - FIT_EPOCH_S
    distance = sum(s["distance_m"] or 0 for s in steps)
    assert session.get("total_distance", 0) == distance
    activity = m["activity_mesgs"][0]
    assert activity["total_timer_time"] == session["total_timer_time"]
    assert activity["num_sessions"] == 1

    # records: 1 Hz while the timer runs, none while paused, distance only where known
    records = m["record_mesgs"]
    stamps = [r["timestamp"] for r in records]
    assert stamps == sorted(set(stamps))
    timer_s = session["total_timer_time"]
    assert abs(len(records) - timer_s) <= len(laps) + 1
    with_distance = [r for r in records if "distance" in r]
    assert len(with_distance) == sum(
        1 for r in records if "speed" in r
    )  # a distance always comes with its speed
    if distance:
        assert max(r["distance"] for r in with_distance) <= distance
    else:
        assert with_distance == []

    events = m["event_mesgs"]
    kinds = [(e["event"], e["event_type"]) for e in events]
    assert kinds[0] == ("timer", "start") and kinds[-1] == ("timer", "stop_all")
    stops = [e for e in events if e["event_type"] == "stop"]
    assert len(stops) == head["pauses"]
    for stop, start in zip(
        stops, [e for e in events if e["event_type"] == "start"][1:], strict=True
    ):
        assert not [s for s in stamps if stop["timestamp"] < s < start["timestamp"]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_workout_in_the_file_is_the_program_that_ran(store: Store, case: str) -> None:
    text, options = CASES[case]
    made = store_session(store, 1, text, **options)
    data, report = export(store, made)
    m = sdk_read(data)
    workout, wsteps = m["workout_mesgs"][0], m["workout_step_mesgs"]
    assert workout["sport"] == "running" and workout["wkt_name"] == report["session"]["plan"]
    assert workout["num_valid_steps"] == len(wsteps)
    plan = planned_steps(made.program, len(made.steps))
    for lap, planned in zip(m["lap_mesgs"], plan, strict=True):
        wstep = wsteps[lap["wkt_step_index"]]
        kinds = {"warmup": "warmup", "work": "active", "cooldown": "cooldown"}
        assert wstep["intensity"] == kinds.get(planned.kind, planned.kind)
        if planned.end_type == "time":
            assert (wstep["duration_type"], wstep["duration_time"]) == ("time", planned.value)
        elif planned.end_type == "distance":
            assert wstep["duration_type"] == "distance"
            assert wstep["duration_distance"] == planned.value
        else:
            assert wstep["duration_type"] == "open"  # the lap button
        if planned.target_pace_s_per_km:
            mid = (wstep["custom_target_speed_low"] + wstep["custom_target_speed_high"]) / 2
            assert 1000 / mid == pytest.approx(planned.target_pace_s_per_km, rel=0.002)
    repeats = [w for w in wsteps if w["duration_type"] == "repeat_until_steps_cmplt"]
    if case == "reps_999":
        assert [(w["duration_step"], w["repeat_steps"]) for w in repeats] == [(0, 999)]
        assert len(wsteps) == 3 and len(m["lap_mesgs"]) == 1998
    if case == "normal":  # wu, 6 x (800 m, jog), cd
        assert [(w["duration_step"], w["repeat_steps"]) for w in repeats] == [(1, 6)]


def test_a_repeat_that_drops_its_last_recovery_maps_every_run_step() -> None:
    """4 x (400 m, 60 s jog) without the last jog: a watch runs that jog (FIT cannot leave it
    out); the device did not, so the laps after it point past it."""
    from tests.host.test_sync_fakes import PROGRAM_BYTES

    workout = session_workout(PROGRAM_BYTES, "4x400")
    assert workout is not None
    steps = workout.messages.steps
    assert [s["duration_type"] for s in steps] == [
        "time",
        "distance",
        "time",
        "repeat_until_steps_cmplt",
        "time",
    ]
    assert (steps[3]["duration_value"], steps[3]["target_value"]) == (1, 4)
    assert workout.step_of_run == [0, 1, 2, 1, 2, 1, 2, 1, 4]
    assert len(workout.step_of_run) == len(planned_steps(PROGRAM_BYTES, 100))
    assert workout.messages.workout["wkt_name"] == "4x400"


def test_the_plan_of_a_program_compiles_back_to_the_same_bytes() -> None:
    """The reverse of compiling holds what the device ran: compiled again, the same bytes."""
    from repcue.plan import compile as compiler
    from repcue.plan.profile import NamedPaces
    from repcue_fw.wire.host import program as wp

    for text in (TRACK, PAUSED, HILLS, REPS_999, "10min wu, 8x(1min hard, 1min easy), 10min cd"):
        data = program_of(text)
        plan = plan_of_program(wp.decode(data))
        again = compiler.to_program(plan.nodes, plan.cues, NamedPaces(), plan.name)
        assert compiler.encode(again) == data, text


def test_the_fast_path_writes_the_bytes_of_the_sdk_alone(store: Store) -> None:
    for sid, (text, options) in enumerate(CASES.values(), start=1):
        made = store_session(store, sid, text, **options)
        summary = store.find_session(str(made.row_id))
        timeline = build_timeline(store, summary, session_report(store, summary))
        assert fit_activity(timeline) == fit_activity(timeline, fast=False)


def test_pauses_stop_the_timer_and_wall_time_includes_them(store: Store) -> None:
    made = store_session(store, 1, PAUSED, paused_ms=95_250, pauses=3)
    data, report = export(store, made)
    m = sdk_read(data)
    session = m["session_mesgs"][0]
    assert session["total_elapsed_time"] - session["total_timer_time"] == pytest.approx(95.25)
    events = m["event_mesgs"]
    assert Counter(e["event_type"] for e in events) == Counter(start=4, stop=3, stop_all=1)
    laps = m["lap_mesgs"]
    assert len(laps) == len(report["steps"])  # a pause is no lap
    # the session ends where the device's clock did: start + active + paused
    end = datetime.fromtimestamp(session["timestamp"] + FIT_EPOCH_S, UTC)
    assert end.timestamp() == START_S + (report["session"]["duration_ms"]) // 1000


def test_lap_triggers(store: Store) -> None:
    made = store_session(store, 1, TRACK, end=wr.END_STOPPED, stop_after=4)
    data, _ = export(store, made)
    triggers = [lap["lap_trigger"] for lap in sdk_read(data)["lap_mesgs"]]
    # warm-up by time, an 800 m marked with a lap press, a jog by time, then stopped
    assert triggers == ["time", "distance", "time", "session_end"]
    made = store_session(store, 2, HILLS)
    data, _ = export(store, made)
    triggers = [lap["lap_trigger"] for lap in sdk_read(data)["lap_mesgs"]]
    assert set(triggers) == {"time", "manual"}  # 45 s up by time, the open jog down by lap


def test_a_track_session_is_track_and_a_tempo_is_not(store: Store) -> None:
    data, _ = export(store, store_session(store, 1, TRACK))
    assert sdk_read(data)["session_mesgs"][0]["sub_sport"] == "track"
    data, _ = export(store, store_session(store, 2, PAUSED))
    assert sdk_read(data)["session_mesgs"][0]["sub_sport"] == "generic"


def test_a_session_without_its_program_has_laps_but_no_workout(tmp_path: Path) -> None:
    store = new_store(tmp_path / "r.db")
    made = store_session(store, 1, TRACK)
    with store.transaction() as conn:
        conn.execute("DELETE FROM programs")
    data, report = export(store, made)
    m = sdk_read(data)
    assert "workout_mesgs" not in m and len(m["lap_mesgs"]) == len(report["steps"])
    assert all("wkt_step_index" not in lap for lap in m["lap_mesgs"])


def test_session_workout_of_garbage_is_none() -> None:
    assert session_workout(b"\x00\x01garbage") is None
