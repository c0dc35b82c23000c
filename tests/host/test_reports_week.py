"""`repcue week`: anaerobic sessions per ISO week against the guidance (one or two a week, an
easy day between), on stores built from compiled plans; its minutes per intensity."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.plan.profile import NamedPaces
from repcue.reports.load import session_load
from repcue.reports.week import warnings, week_rows
from repcue.store import Store
from tests.host.report_store import Builder


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "repcue.db"


@pytest.fixture
def build(db: Path) -> Builder:
    return Builder(Store(db))


def rules(store: Store) -> list[tuple[str, tuple[str, ...], tuple[int, ...]]]:
    loads = [session_load(store, s, NamedPaces()) for s in store.sessions()]
    return [(w.rule, tuple(d.isoformat() for d in w.days), w.sessions) for w in warnings(loads)]


def test_what_counts_as_anaerobic_and_as_a_hard_day(build: Builder) -> None:
    track = build.add("track 6x400", "2026-11-02")  # reps @5k: hard (level 4)
    hills = build.add("hills 8x60s", "2026-11-04")  # `hard` effort
    tempo = build.add("tempo 25", "2026-11-06")  # 25 min steady: hard day, not anaerobic
    easy = build.add("easy 40", "2026-11-08")
    cut = build.add("hills 8x60s", "2026-11-09", stop_after=1)  # stopped in the warm-up
    loads = {s.row_id: session_load(build.store, s, NamedPaces()) for s in build.store.sessions()}
    assert [loads[r].anaerobic for r in (track, hills, tempo, easy, cut)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert [loads[r].hard for r in (track, hills, tempo, easy, cut)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert loads[track].reason == "work at 5k pace (4:00/km)"
    # minutes are what was run, by the plan's intensity levels: 4 hard, 3 steady, 2 easy
    steps = build.store.session_steps(track)
    assert loads[track].work_s_by_level == {
        4: sum(s.elapsed_ms for s in steps if s.kind == "work") / 1000
    }
    assert loads[tempo].work_s_by_level == {3: 25 * 60.0}
    assert loads[easy].work_s_by_level == {2: 40 * 60.0}
    assert rules(build.store) == []


def test_three_anaerobic_sessions_in_a_week(build: Builder) -> None:
    ids = [build.add("track 6x400", d) for d in ("2026-11-02", "2026-11-04", "2026-11-06")]
    build.add("track 6x400", "2026-11-09")  # the next week: one is fine
    assert rules(build.store) == [
        ("three_or_more", ("2026-11-02", "2026-11-04", "2026-11-06"), tuple(ids))
    ]
    rows = week_rows(
        [session_load(build.store, s, NamedPaces()) for s in build.store.sessions()],
        weeks=3,
        until=date(2026, 11, 12),
    )
    assert [(r.label, r.status, len(r.anaerobic), len(r.warnings)) for r in rows] == [
        ("2026-W44", "none", 0, 0),
        ("2026-W45", "too many", 3, 1),
        ("2026-W46", "ok", 1, 0),
    ]


def test_two_hard_days_in_a_row(build: Builder) -> None:
    track = build.add("track 6x400", "2026-11-02")
    tempo = build.add("tempo 25", "2026-11-03")  # hard, but not a second anaerobic session
    assert rules(build.store) == [
        ("hard_days_in_a_row", ("2026-11-02", "2026-11-03"), (track, tempo))
    ]


def test_no_easy_day_between_two_anaerobic_sessions(build: Builder) -> None:
    # Monday intervals, Tuesday tempo, Wednesday hills: two back-to-back pairs of hard days,
    # and the only day between the anaerobic sessions was a hard one
    a = build.add("track 6x400", "2026-11-02")
    t = build.add("tempo 25", "2026-11-03")
    b = build.add("hills 8x60s", "2026-11-04")
    assert rules(build.store) == [
        ("hard_days_in_a_row", ("2026-11-02", "2026-11-03"), (a, t)),
        ("hard_days_in_a_row", ("2026-11-03", "2026-11-04"), (t, b)),
        ("no_easy_day_between", ("2026-11-02", "2026-11-04"), (a, b)),
    ]


def test_a_double_on_one_day_has_no_easy_day_between(build: Builder) -> None:
    a = build.add("track 6x400", "2026-11-02")
    b = build.add("hills 8x60s", "2026-11-02")
    assert rules(build.store) == [("no_easy_day_between", ("2026-11-02", "2026-11-02"), (a, b))]


def test_an_easy_day_between_is_enough(build: Builder) -> None:
    build.add("track 6x400", "2026-11-02")
    build.add("easy 40", "2026-11-03")  # an easy run is an easy day
    build.add("hills 8x60s", "2026-11-04")
    build.add("track 6x400", "2026-11-10")
    assert rules(build.store) == []


def test_a_rule_across_weeks_is_told_in_the_later_week(build: Builder, db: Path) -> None:
    build.add("track 6x400", "2026-11-08")  # Sunday of W45
    build.add("track 6x400", "2026-11-09")  # Monday of W46
    build.add("track 6x400", None)  # never dated: left out, counted
    loads = [session_load(build.store, s, NamedPaces()) for s in build.store.sessions()]
    rows = week_rows(loads, weeks=2, until=date(2026, 11, 9))
    assert [r.label for r in rows] == ["2026-W45", "2026-W46"]
    assert rows[0].warnings == []
    assert {w.rule for w in rows[1].warnings} == {"hard_days_in_a_row", "no_easy_day_between"}


def test_week_json_and_table(build: Builder, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    track = build.add("track 6x400", "2026-11-02", [94_000, 95_000, 96_000, 97_000, 98_000, 99_000])
    build.add("tempo 25", "2026-11-03")
    build.add("easy 40", "2026-11-05")
    build.add("track 6x400", None)
    build.store.close()
    args = ["week", "--db", str(db), "--weeks", "2", "--until", "2026-11-08"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["undated_sessions"] == 1
    assert [w["week"] for w in out["weeks"]] == ["2026-W44", "2026-W45"]
    week = out["weeks"][1]
    assert week["sessions"] == 3 and week["status"] == "ok"
    assert [s["row_id"] for s in week["anaerobic_sessions"]] == [track]
    assert week["hard_days"] == ["2026-11-02", "2026-11-03"]
    work_s = (94 + 95 + 96 + 97 + 98 + 99) / 60
    assert week["work_min"] == {"hard": round(work_s, 1), "steady": 25.0, "easy": 40.0}
    assert [w["rule"] for w in week["warnings"]] == ["hard_days_in_a_row"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "2026-W45" in table and "Mon,Tue" in table and "25.0" in table
    assert "warning 2026-W45: hard days in a row: Mon 2026-11-02 and Tue 2026-11-03" in table
    assert "1 session(s) left out: the device clock was not set" in table


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--weeks", "0", "1 or more"),
        ("--weeks", "521", "at most 520 weeks"),
        ("--until", "0001-01-01", "from 1980 to 9000"),
        ("--until", "tuesday", "YYYY-MM-DD"),
    ],
)
def test_week_refuses_what_would_leave_the_calendar(
    db: Path, option: str, value: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["week", "--db", str(db), option, value])
    assert usage.value.code == 2 and said in capsys.readouterr().err
