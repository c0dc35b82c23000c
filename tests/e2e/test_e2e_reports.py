"""`repcue week`, `report` and `trend` on real sessions: the firmware in the virtual device
runs each plan (a virtual runner presses lap), its clock set to the session's day, and each
session is synced into a store (docs/report_example.py, the README's own generator)."""

from __future__ import annotations

import base64
import json
import statistics
from pathlib import Path

import pytest
from docs.report_example import record

from repcue.cli import main
from repcue.cli.history_cmd import fmt_ms
from repcue.store import open_store
from tests.host.test_reports_charts import _Page, png_size

SCHEDULE = (
    ("2026-11-02", "track 6x400", 1.03),  # Monday
    ("2026-11-03", "tempo 25", 1.0),  # Tuesday: a second hard day in a row
    ("2026-11-04", "track 6x400", 0.98),  # Wednesday: faster, and no easy day between
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "store.db"
    record(path, SCHEDULE)
    return path


def test_the_week_of_real_sessions(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(db, read_only=True) as store:
        sessions = list(reversed(store.sessions()))
        work_s = {
            s.row_id: sum(t.elapsed_ms for t in store.session_steps(s.row_id) if t.kind == "work")
            / 1000
            for s in sessions
        }
    assert [s.plan_name for s in sessions] == [plan for _, plan, _ in SCHEDULE]
    assert [s.end_reason for s in sessions] == ["finished"] * 3
    first, tempo, third = (s.row_id for s in sessions)
    args = ["week", "--db", str(db), "--weeks", "1", "--until", "2026-11-08", "--json"]
    assert main(args) == 0
    (week,) = json.loads(capsys.readouterr().out)["weeks"]
    assert week["week"] == "2026-W45" and week["sessions"] == 3 and week["status"] == "ok"
    assert [s["row_id"] for s in week["anaerobic_sessions"]] == [first, third]
    assert week["hard_days"] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert week["work_min"] == {
        "hard": round((work_s[first] + work_s[third]) / 60, 1),
        "steady": round(work_s[tempo] / 60, 1),
    }
    assert [(w["rule"], w["sessions"]) for w in week["warnings"]] == [
        ("hard_days_in_a_row", [first, tempo]),
        ("hard_days_in_a_row", [tempo, third]),
        ("no_easy_day_between", [first, third]),
    ]


def test_report_and_trend_of_real_sessions(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "last.html"
    assert main(["report", "last", "--db", str(db), "-o", str(out)]) == 0
    assert "work reps charted: 6, by pace" in capsys.readouterr().out
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    png = base64.b64decode(page.images[0].split(",", 1)[1])
    assert png_size(png) == (800, 500)
    with open_store(db, read_only=True) as store:
        last = store.find_session("last")
        steps = store.session_steps(last.row_id)
        track = [s for s in reversed(store.sessions()) if s.plan_name == "track 6x400"]
        paces = [
            [t.elapsed_ms / 400 for t in store.session_steps(s.row_id) if t.kind == "work"]
            for s in track
        ]
    assert [(r[0], r[1], r[3]) for r in page.rows[1:]] == [
        (str(s.index + 1), s.kind, fmt_ms(s.elapsed_ms)) for s in steps
    ]
    assert main(["trend", "track 6x400", "--db", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["sessions"]
    assert [r["row_id"] for r in rows] == [s.row_id for s in track]
    assert [r["mean"] for r in rows] == pytest.approx([statistics.fmean(p) for p in paces])
    assert [r["slowest"] for r in rows] == pytest.approx([max(p) for p in paces])
    assert rows[1]["mean"] < rows[0]["mean"]  # the runner got faster
    assert all(r["fade_pct"] > 0 for r in rows)  # and tires within a session
    chart = tmp_path / "trend.png"
    assert main(["trend", "track 6x400", "--db", str(db), "-o", str(chart)]) == 0
    assert png_size(chart.read_bytes()) == (800, 500)


def test_a_stopped_session_is_charted_as_far_as_it_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "stopped.db"
    # 10 min warm-up, then about 190 s a rep and its jog: stopped 31 s into the fourth rep
    record(db, (("2026-11-02", "track 6x400", 1.03),), stop_ms={"2026-11-02": 1_200_000})
    with open_store(db, read_only=True) as store:
        (summary,) = store.sessions()
        steps = store.session_steps(summary.row_id)
    assert summary.end_reason == "stopped"
    work = [s for s in steps if s.kind == "work"]
    assert [s.end_reason for s in work] == ["lap"] * 3 + ["stop"]
    out = tmp_path / "stopped.html"
    assert main(["report", "last", "--db", str(db), "-o", str(out)]) == 0
    assert "work reps charted: 3, by pace" in capsys.readouterr().out  # not the cut one
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert [(r[1], r[3], r[8]) for r in page.rows[1:]] == [
        (s.kind, fmt_ms(s.elapsed_ms), s.end_reason) for s in steps
    ]
    args = ["week", "--db", str(db), "--weeks", "1", "--until", "2026-11-02", "--json"]
    assert main(args) == 0
    (week,) = json.loads(capsys.readouterr().out)["weeks"]
    # it got to its reps: an anaerobic session, with the minutes the runner ran
    assert [s["row_id"] for s in week["anaerobic_sessions"]] == [summary.row_id]
    assert week["work_min"] == {"hard": round(sum(s.elapsed_ms for s in work) / 60_000, 1)}
