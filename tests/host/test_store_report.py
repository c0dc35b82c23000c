"""`repcue history` / `repcue show`: planned vs actual, pace, fade and cue lateness."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from repcue.cli import history_cmd
from repcue.errors import StoreError
from repcue.store import SessionData, StepData, Store
from repcue.store.analysis import history_row, session_report
from repcue.sync import decode_session_bytes
from repcue_fw.wire.host import program as wp
from tests.host.test_sync_fakes import DEVICE_ID, PROGRAM_BYTES, REP_TIMES_MS, make_session


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "repcue.db")
    s.upsert_device(DEVICE_ID, name="track-1", board="sim")
    return s


def add(store: Store, sid: int, data: SessionData | None = None) -> int:
    data = data or decode_session_bytes(make_session(sid), sid)
    row = store.add_session(DEVICE_ID, data)
    assert row is not None
    return row


def test_report_with_known_program(store: Store) -> None:
    store.add_program(PROGRAM_BYTES, plan_name="4x400 track")
    row = add(store, 1)
    report = session_report(store, store.find_session(str(row)))
    head, steps, fade = report["session"], report["steps"], report["fade"]
    assert head["plan"] == "4x400 track"
    assert (head["reps_done"], head["reps_planned"]) == (4, 4)
    assert (head["cue_late_max_ms"], head["cue_late_mean_ms"]) == (7, 2)
    assert head["start"] == "2025-10-10T08:53:20Z"
    assert [s["end_type"] for s in steps] == ["time"] + ["distance", "time"] * 3 + [
        "distance",
        "time",
    ]
    reps = [s for s in steps if s["kind"] == "work"]
    assert [s["distance_m"] for s in reps] == [400] * 4
    # 400 m in 72.001 s is 180.0025 s/km against a 3:00/km target: 1 ms behind the ghost.
    assert reps[0]["pace_s_per_km"] == pytest.approx(180.0025)
    assert reps[0]["target_pace_s_per_km"] == 180.0
    assert reps[0]["delta_ms"] == 1
    assert reps[3]["fade_first_pct"] == pytest.approx((76_001 / 72_001 - 1) * 100)
    mean = sum(t + 1 for t in REP_TIMES_MS) / 4 / 400
    assert reps[0]["fade_mean_pct"] == pytest.approx((180.0025 / mean - 1) * 100)
    assert fade["basis"] == "pace" and fade["reps"] == 4
    assert fade["last_vs_first_pct"] == pytest.approx(reps[3]["fade_first_pct"])
    assert fade["per_rep_pct"] > 1.5  # a runner fading about 2 s a rep
    recovery = steps[2]
    assert (recovery["delta_ms"], recovery["pace_s_per_km"], recovery["fade_first_pct"]) == (
        0,
        None,
        None,
    )
    assert steps[0]["laps_ms"] == [200_000, 400_000]
    assert json.loads(json.dumps(report)) == report  # JSON-ready as it stands


def test_report_without_the_program_uses_lap_times(store: Store) -> None:
    row = add(store, 2)  # the program was uploaded from another laptop
    report = session_report(store, store.find_session(str(row)))
    assert report["session"]["plan"] is None
    assert report["session"]["reps_planned"] is None
    assert all(s["end_type"] is None and s["pace_s_per_km"] is None for s in report["steps"])
    assert report["fade"]["basis"] == "time"
    assert report["fade"]["first"] == pytest.approx(72.002)


def test_program_that_disagrees_with_the_record_is_not_trusted(store: Store) -> None:
    other = wp.encode(wp.Program([wp.Step(wp.KIND_WORK, wp.END_TIME, 30)]))
    store.add_program(other, plan_name="other")
    data = decode_session_bytes(make_session(3), 3)
    row = add(store, 3, dataclasses.replace(data, program_id=wp.program_id(other)))
    steps = session_report(store, store.find_session(str(row)))["steps"]
    assert [s["end_type"] for s in steps] == [None] * 9  # kind/planned did not match


def test_fade_needs_two_measured_reps_and_skips_unfinished_ones(store: Store) -> None:
    steps = (
        StepData(0, "work", "lap", 0, 300_000),  # open steps ended with a lap press
        StepData(1, "work", "skip", 0, 100_000),  # skipped: not a rep to compare
        StepData(2, "work", "lap", 0, 330_000),
    )
    data = SessionData(9, 1, None, 0, 730_000, 0, 0, 0, 0, "finished", steps)
    report = session_report(store, store.find_session(str(add(store, 9, data))))
    assert report["fade"]["basis"] == "time"
    assert report["fade"]["reps"] == 2
    assert report["fade"]["last_vs_first_pct"] == pytest.approx(10.0)
    assert report["steps"][1]["fade_first_pct"] is None
    assert report["session"]["start"] is None
    single = SessionData(10, 1, None, 0, 1, 0, 0, 0, 0, "finished", steps[:1])
    assert session_report(store, store.find_session(str(add(store, 10, single))))["fade"] is None


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="repcue")
    history_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_history_and_show_commands(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    store.add_program(PROGRAM_BYTES, plan_name="4x400 track")
    add(store, 1)
    row2 = add(store, 2)
    db = str(store.path)
    store.close()

    assert run_cli(["history", "--db", db]) == 0
    text = capsys.readouterr().out
    assert "4x400 track" in text and "4/4" in text and "track-1 #2" in text
    assert text.index("track-1 #2") < text.index("track-1 #1")  # newest first

    assert run_cli(["history", "--db", db, "--json", "--limit", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["row_id"] for r in rows] == [row2]
    assert rows[0]["duration_ms"] == sum(REP_TIMES_MS) + 4 * 2 + 600_000 + 3 * 60_000 + 302_000

    assert run_cli(["show", "last", "--db", db]) == 0
    text = capsys.readouterr().out
    assert "400 m" in text and "pace/km" in text and "3:10" in text
    assert "Fade (4 reps, min/km): 3:00 -> 3:10" in text
    assert "cues late max 7 ms" in text

    assert run_cli(["show", f"track-1:{2}", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    with Store(db) as again:
        assert shown == session_report(again, again.find_session(str(row2)))
        assert history_row(again, again.find_session("last"))["row_id"] == row2

    with pytest.raises(StoreError, match="no session 42"):
        run_cli(["show", "42", "--db", db])


def test_history_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "empty.db")
    Store(db).close()
    assert run_cli(["history", "--db", db]) == 0
    assert "No sessions stored yet" in capsys.readouterr().out
    assert run_cli(["history", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_stopped_distance_step_and_a_power_cut_say_unknown(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add_program(PROGRAM_BYTES, plan_name="4x400 track")
    data = decode_session_bytes(make_session(5), 5)
    stopped = dataclasses.replace(data.steps[1], end_reason="stop", elapsed_ms=30_000)
    data = dataclasses.replace(
        data, end_reason="power_lost", steps=(data.steps[0], stopped), late_max_ms=0
    )
    report = session_report(store, store.find_session(str(add(store, 5, data))))
    rep = report["steps"][1]
    assert (rep["end_type"], rep["distance_m"], rep["pace_s_per_km"]) == ("distance", None, None)
    head = report["session"]
    assert (head["cue_late_max_ms"], head["cue_late_mean_ms"]) == (None, None)
    history_cmd.print_session(history_cmd.Console(highlight=False), report)
    text = capsys.readouterr().out
    assert "cue lateness unknown" in text and "late max 0" not in text


def test_formatting() -> None:
    assert [history_cmd._pct(v) for v in (-0.04, 0.04, 2.25, -3.0)] == [
        "0.0%",
        "0.0%",
        "+2.2%",
        "-3.0%",
    ]
    undated = history_cmd._date({"start": None, "synced": "2026-03-01T12:00:00Z"})
    assert undated.startswith("undated (synced 2026-03-0")
    assert [history_cmd._signed_ms(v) for v in (-30, 49, 1250, -400, None)] == [
        "0.0",
        "0.0",
        "+1.2",
        "-0.4",
        "",
    ]
    assert history_cmd.fmt_ms(3_723_400, tenths=False) == "1:02:03"
    assert history_cmd.fmt_ms(72_049) == "1:12.0"
    assert history_cmd.fmt_ms(59_960) == "1:00.0"
    assert history_cmd.fmt_ms(None) == ""
    assert history_cmd.fmt_pace(225.4) == "3:45/km"
    assert history_cmd.fmt_pace(None) == ""


def test_through_main_errors_are_one_line_with_the_store_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import repcue.cli

    monkeypatch.setattr(repcue.cli, "GROUPS", ("history",))  # only the group under test
    monkeypatch.setenv("REPCUE_DB", str(tmp_path / "env.db"))
    Store(tmp_path / "env.db").close()  # a store the user named must be there to be read
    assert repcue.cli.main(["show", "last"]) == StoreError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: no sessions stored in") and "env.db" in err
    assert "Traceback" not in err
    assert repcue.cli.main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
