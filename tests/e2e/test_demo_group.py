"""`repcue demo --group 4 --json` through the CLI's main(): four virtual devices, a private
Mosquitto, four in-process bridges, the coach's dashboard and its group start, then a sync of
all four. What it prints is checked against the store and the devices' own records."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.cli.demo.table import rep_times

# the host sees each device's session_start within this of the others' (observed: ~10 ms;
# generous for two busy cores, and far below the 1.5 s lead the start had)
ARRIVAL_SPREAD_MS = 1000


def test_the_group_demo_runs_four_athletes_from_one_start_to_one_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "group.db")
    code = main(["demo", "--group", "4", "--json", "--db", db])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    result = json.loads(out)  # stdout is the JSON alone: the rest went to stderr
    sessions = result["sessions"]
    assert [s["athlete"] for s in sessions] == ["Ana", "Ben", "Cleo", "Dev"]
    assert len({s["session"]["device_id"] for s in sessions}) == 4
    for s in sessions:
        head = s["session"]
        assert head["end_reason"] == "finished", s["athlete"]
        assert head["reps_done"] == head["reps_planned"] == 5, s["athlete"]
    # Ana runs 8 % slower than the target, Ben 8 % faster (late presses on a busy machine
    # only make a rep longer: Ben's margin is 7 s of device time a rep)
    by_name = {s["athlete"]: rep_times(s) for s in sessions}
    ana, ben = by_name["Ana"], by_name["Ben"]
    assert ana is not None and ben is not None
    assert ana[0] > ana[1] and ben[0] < ben[1], by_name
    # the devices' own records: each session's header "start" (start_wall_s, whole seconds
    # of the device's clock) is the group start's instant on all four
    start = result["group_start"]
    instant = datetime.fromtimestamp(start["at_ms"] // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {s["session"]["start"] for s in sessions} == {instant}
    assert 0 <= start["arrival_spread_ms"] <= ARRIVAL_SPREAD_MS
    # the dashboard was up during the run: its URL printed before the start, its button's
    # API gave the start id every bridge acted on, its list held the four synced sessions
    url = result["dashboard"]["url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
    assert err.index(url) < err.index(f"group start {start['id'][:8]}")
    assert err.count(f"group start {start['id'][:8]}: the device starts at") == 4
    assert result["dashboard"]["sessions_listed"] == 4
    # each session is what `repcue show --json` prints of it (plus whose it is)
    for s in sessions:
        assert main(["show", str(s["session"]["row_id"]), "--db", db, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert {**shown, "athlete": s["athlete"]} == s
