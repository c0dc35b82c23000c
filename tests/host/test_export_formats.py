"""TCX, CSV and JSON exports read back and compared with the store, and `repcue export`
through main(): selections, files, the JSON summary, undated sessions and --assume-date."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main
from repcue.errors import UndatedSessionError
from repcue.export import export_session
from repcue.export.csv_rows import COLUMNS
from repcue.store import Store
from repcue.store.analysis import session_report
from repcue_fw.wire.host import records as wr
from tests.host.export_sessions import (
    HILLS,
    PAUSED,
    REPS_999,
    START_S,
    TRACK,
    new_store,
    store_session,
)
from tests.host.test_export_fit import sdk_read

NS = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "export.md"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path / "repcue.db")


def exported(store: Store, row: int, fmt: Any) -> tuple[bytes, dict[str, Any]]:
    summary = store.find_session(str(row))
    return export_session(store, summary, fmt).data, session_report(store, summary)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (TRACK, {}),
        (PAUSED, {"paused_ms": 61_000, "pauses": 2}),
        (TRACK, {"end": None, "stop_after": 5}),
        (TRACK, {"end": wr.END_STOPPED, "stop_after": 6}),
        (HILLS, {}),
    ],
)
def test_tcx_reads_back_as_the_store_says(store: Store, text: str, options: Any) -> None:
    made = store_session(store, 1, text, **options)
    data, report = exported(store, made.row_id, "tcx")
    root = ET.fromstring(data)
    activity = root.find("t:Activities/t:Activity", NS)
    assert activity is not None and activity.get("Sport") == "Running"
    assert activity.findtext("t:Id", namespaces=NS) == "2025-12-05T10:40:00Z"
    laps = activity.findall("t:Lap", NS)
    steps = report["steps"]
    assert len(laps) == len(steps)
    points_total = 0
    for lap, step in zip(laps, steps, strict=True):
        assert float(lap.findtext("t:TotalTimeSeconds", namespaces=NS) or "") == (
            step["elapsed_ms"] / 1000
        )
        assert float(lap.findtext("t:DistanceMeters", namespaces=NS) or "") == (
            step["distance_m"] or 0
        )
        intensity = "Resting" if step["kind"] in ("recovery", "rest") else "Active"
        assert lap.findtext("t:Intensity", namespaces=NS) == intensity
        trigger = lap.findtext("t:TriggerMethod", namespaces=NS)
        assert trigger in ("Time", "Distance", "Manual")
        assert (trigger == "Time") == (step["end_reason"] == "time")
        points = lap.findall("t:Track/t:Trackpoint", NS)
        points_total += len(points)
        assert all(p.find("t:Position", NS) is None for p in points)  # no GPS
        distances = [p.findtext("t:DistanceMeters", namespaces=NS) for p in points]
        assert all(d is None for d in distances) == (step["distance_m"] is None)
    # the same 1 Hz points as the FIT file's records
    fit, _ = exported(store, made.row_id, "fit")
    assert points_total == len(sdk_read(fit)["record_mesgs"])
    first = laps[0].get("StartTime")
    assert first == "2025-12-05T10:40:00Z"


def test_tcx_trackpoints_tick_each_second_across_midnight(store: Store) -> None:
    start = datetime(2026, 12, 31, 23, 55, 30, tzinfo=UTC)  # 10 min wu runs into next year
    made = store_session(store, 1, TRACK, start_s=int(start.timestamp()))
    data, _ = exported(store, made.row_id, "tcx")
    laps = ET.fromstring(data).findall("t:Activities/t:Activity/t:Lap", NS)
    times = [e.text or "" for e in laps[0].iterfind("t:Track/t:Trackpoint/t:Time", NS)]
    seconds = [datetime.fromisoformat(t.replace("Z", "+00:00")) - start for t in times]
    assert [s.total_seconds() for s in seconds] == list(range(len(times)))
    assert "2026-12-31T23:59:59Z" in times and "2027-01-01T00:00:00Z" in times


def test_tcx_escapes_what_a_plan_name_may_hold(store: Store) -> None:
    name = 'Hills <5k> & "the bank"'
    made = store_session(store, 1, TRACK.replace("Tuesday track", name))
    data, _ = exported(store, made.row_id, "tcx")
    activity = ET.fromstring(data).find("t:Activities/t:Activity", NS)
    assert activity is not None and activity.findtext("t:Notes", namespaces=NS) == name


def test_csv_has_one_row_per_step_with_the_documented_columns(store: Store) -> None:
    made = store_session(store, 1, TRACK, end=wr.END_STOPPED, stop_after=6)
    data, report = exported(store, made.row_id, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == len(report["steps"]) == 6
    for row, step in zip(rows, report["steps"], strict=True):
        assert row["kind"] == step["kind"] and row["end_reason"] == step["end_reason"]
        assert float(row["elapsed_s"]) == step["elapsed_ms"] / 1000
        assert row["distance_m"] == ("" if step["distance_m"] is None else str(step["distance_m"]))
        if step["pace_s_per_km"] is None:
            assert row["pace_s_per_km"] == ""
        else:
            assert float(row["pace_s_per_km"]) == pytest.approx(step["pace_s_per_km"], abs=0.005)
    assert rows[-1]["end_reason"] == "stop"
    assert rows[0]["laps_s"] and rows[0]["start"] == "2025-12-05T10:40:00Z"
    documented = DOCS.read_text(encoding="utf-8")
    for column in COLUMNS:
        assert f"`{column}`" in documented, f"docs/export.md does not describe {column}"


def test_json_is_what_show_json_prints(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    made = store_session(store, 1, REPS_999, slower_ms=0)
    data, report = exported(store, made.row_id, "json")
    assert json.loads(data) == report
    assert main(["show", str(made.row_id), "--db", str(store.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(data)
    assert len(report["steps"]) == 1998


# -- the command ---------------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as done:  # argparse's usage error, as the shell sees it
        code = int(done.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_all_to_a_folder_with_a_json_summary(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for sid, text in enumerate((TRACK, PAUSED, HILLS), start=1):
        store_session(store, sid, text)
    out_dir = tmp_path / "out"
    code, out, err = run(
        ["export", "--all", "--dir", str(out_dir), "--db", str(store.path), "--json"], capsys
    )
    assert code == 0 and err == ""  # no progress bar where stderr is no terminal
    summary = json.loads(out)
    assert summary["sessions"] == 3 and len(summary["files"]) == 3
    assert summary["bytes"] == sum(Path(f["path"]).stat().st_size for f in summary["files"])
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        "session-1-2025-12-05-1040-tuesday-track.fit",
        "session-2-2025-12-05-1040-tempo.fit",
        "session-3-2025-12-05-1040-hills.fit",
    ]
    for path in out_dir.iterdir():
        assert sdk_read(path.read_bytes())["session_mesgs"]
    # again: the files are there, nothing is overwritten without --force
    code, _, err = run(["export", "--all", "--dir", str(out_dir), "--db", str(store.path)], capsys)
    assert code == 16 and "--force" in err
    code, out, _ = run(
        ["export", "1", "last", "--dir", str(out_dir), "--db", str(store.path), "--force"], capsys
    )
    assert code == 0 and "Session 1 ->" in out and "Session 3 ->" in out


def test_one_file_csv_of_several_sessions_and_fit_refused(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_session(store, 1, TRACK)
    store_session(store, 2, HILLS)
    target = tmp_path / "all.csv"
    db = ["--db", str(store.path)]
    code, _, _ = run(
        ["export", "--since", "2025-12-01", "--format", "csv", "-o", str(target), *db], capsys
    )
    assert code == 0
    rows = list(csv.DictReader(target.open()))
    assert {r["session"] for r in rows} == {"1", "2"}
    code, _, _ = run(["export", "--since", "2026-01-01", "--format", "csv", "-o", "-", *db], capsys)
    assert code == 0  # nothing that recent: said, not an error
    code, _, err = run(["export", "1", "2", "-o", str(tmp_path / "x.fit"), *db], capsys)
    assert code == 2 and "--dir" in err
    code, _, err = run(["export", *db], capsys)
    assert code == 2 and "--all" in err
    code, out, _ = run(["export", "1", "--format", "json", "-o", "-", *db], capsys)
    assert json.loads(out)["session"]["row_id"] == 1


def test_an_undated_session_is_refused_with_the_fix_unless_assume_date(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = store_session(store, 1, TRACK, start_s=None)
    summary = store.find_session(str(made.row_id))
    assert summary.start_wall_s is None
    with pytest.raises(UndatedSessionError, match="repcue time sync"):
        export_session(store, summary, "fit")
    db = ["--db", str(store.path)]
    target = tmp_path / "u.fit"
    code, _, err = run(["export", "last", "-o", str(target), *db], capsys)
    assert code == 7 and "no date" in err and "repcue time sync" in err
    assert "--assume-date" in err and not target.exists()
    code, out, _ = run(["export", "last", "-o", str(target), "--assume-date", *db], capsys)
    assert code == 0 and "dated by its sync time" in out
    session = sdk_read(target.read_bytes())["session_mesgs"][0]
    end_s = session["timestamp"] + 631065600
    assert summary.synced_s - 1 <= end_s <= summary.synced_s + 1
    code, _, _ = run(["export", "last", "--dir", str(tmp_path / "d"), "--assume-date", *db], capsys)
    assert code == 0
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["session-1-undated-tuesday-track.fit"]
    # JSON needs no date
    code, out, _ = run(["export", "last", "--format", "json", "-o", "-", *db], capsys)
    assert code == 0 and json.loads(out)["session"]["start"] is None


def test_the_json_summary_says_what_assume_date_did(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_session(store, 1, TRACK, start_s=None)
    store_session(store, 2, TRACK, start_s=START_S)
    argv = ["export", "--all", "--format", "tcx", "--dir", str(tmp_path / "t"), "--assume-date"]
    code, out, _ = run([*argv, "--db", str(store.path), "--json"], capsys)
    summary = json.loads(out)
    assert code == 0 and [f["assumed_date"] for f in summary["files"]] == [True, False]
    assert len(summary["notes"]) == 1 and "Session 1 has no date" in summary["notes"][0]


def test_a_bulk_export_shows_a_progress_bar_on_a_terminal_only(
    store: Store, tmp_path: Path
) -> None:
    """stderr on a pseudo-terminal: the bar is drawn there; stdout (a pipe) gets the total."""
    import os
    import subprocess
    import sys

    for sid in range(1, 4):
        store_session(store, sid, HILLS)
    master, slave = os.openpty()
    argv = [sys.executable, "-m", "repcue", "export", "--all", "--dir", str(tmp_path / "o")]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    done = subprocess.run(
        [*argv, "--db", str(store.path)], stdout=subprocess.PIPE, stderr=slave, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed and drained
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert done.returncode == 0
    assert b"exporting" in drawn and b"/3" in drawn
    assert "Exported 3 sessions as FIT: 3 files" in done.stdout.decode()
    assert b"exporting" not in done.stdout
