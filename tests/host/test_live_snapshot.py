"""The state snapshot (live/snapshot.py) from a stream of live objects and the program, and
the group start's validation (live/group.py): pure, no broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from repcue.live.broker import check_athlete
from repcue.live.group import MAX_AHEAD_MS, GroupStartGate, group_start_message
from repcue.live.snapshot import Snapshot
from repcue_fw.wire.host import program as wp

T0 = datetime(2026, 12, 5, 13, 17, 22, 382_000, tzinfo=UTC)
# 6 x (800 m @ 3:45/km, 90 s recovery), named as a coach would
PROGRAM = wp.encode(
    wp.Program(
        [
            wp.Repeat(
                6,
                [
                    wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 800, wp.TARGET_PACE, target_value=2250),
                    wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 90),
                ],
            )
        ],
        name="6x800m @5k",
    )
)


def obj(event: str, at_s: float, seq: int | None, /, **fields: Any) -> dict[str, Any]:
    wall = (T0 + timedelta(seconds=at_s)).isoformat(timespec="milliseconds")
    return {"v": 1, "event": event, "seq": seq, "wall": wall, "device_ms": None, **fields}


ATTACHED = obj(
    "attached",
    0,
    None,
    device_id="51fd58aca55e",
    name="repcue-a55e",
    program_id="94387153",
    running=False,
    session_id=None,
    index=None,
)


def test_a_snapshot_before_anything_runs_is_idle() -> None:
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    state = snap.build()
    assert state == {
        "v": 1,
        "athlete": "ana",
        "device_id": "51fd58aca55e",
        "name": "repcue-a55e",
        "wall": "2026-12-05T13:17:22.382+00:00",
        "seq": None,
        "status": "idle",
        "plan_name": None,
        "session_id": None,
        "step": None,
        "next": None,
        "last_rep": None,
        "reps_done": 0,
        "elapsed_ms": 0,
    }


def test_a_snapshot_mid_session_has_the_step_the_next_and_the_last_rep() -> None:
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.set_program(PROGRAM)
    for o in (
        obj("session_start", 1, 1, session_id=3, steps=12),
        obj("step_start", 1, 2, index=0, kind="work"),
        obj("step_end", 172.2, 3, index=0, kind="work", reason="distance", actual_ms=171_200),
        obj("step_start", 172.2, 4, index=1, kind="recovery"),
        obj("pause", 182.2, 5, index=1, into_step_ms=10_000),
        obj("resume", 192.2, 6, index=1, paused_ms=10_000),
    ):
        snap.apply(o)
    state = snap.build()
    assert state["status"] == "running" and state["seq"] == 6
    assert state["plan_name"] == "6x800m @5k" and state["session_id"] == 3
    assert state["step"] == {
        "index": 1,
        "kind": "recovery",
        "rep": None,
        "reps": 6,
        "duration_ms": 90_000,
        "distance_m": None,
        "target_pace_s_per_km": None,
        "started_wall": "2026-12-05T13:20:14.582+00:00",
        # 90 s after its start, plus the 10 s pause: 80 s left at the resume
        "ends_wall": "2026-12-05T13:21:54.582+00:00",
    }
    assert state["next"] == {"kind": "work", "duration_ms": None, "distance_m": 800}
    assert state["last_rep"] == {
        "rep": 1,
        "actual_ms": 171_200,
        "target_ms": 180_000,  # 800 m at 3:45/km
        "diff_ms": -8_800,
        "pace_s_per_km": 214.0,
    }
    assert state["reps_done"] == 1
    assert state["elapsed_ms"] == 181_200  # 191.2 s since the start, less the 10 s pause
    json.dumps(state)  # JSON as it stands


def test_paused_has_no_end_and_a_work_step_its_rep_and_target() -> None:
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.set_program(PROGRAM)
    snap.apply(obj("session_start", 1, 1, session_id=3, steps=12))
    snap.apply(obj("step_start", 1, 2, index=0, kind="work"))
    snap.apply(obj("pause", 30, 3, index=0, into_step_ms=29_000))
    state = snap.build()
    assert state["status"] == "paused"
    step = state["step"]
    assert (step["rep"], step["reps"], step["distance_m"]) == (1, 6, 800)
    assert step["target_pace_s_per_km"] == 225.0 and step["ends_wall"] is None


def test_the_end_of_a_session_is_finished_with_no_step() -> None:
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.apply(obj("session_start", 1, 1, session_id=3, steps=12))
    snap.apply(obj("session_end", 900, 2, reason="finished", total_ms=899_000))
    snap.apply(obj("gap", 901, None, missed=None, why="link"))
    state = snap.build()
    assert state["status"] == "finished" and state["step"] is None
    assert state["elapsed_ms"] == 899_000 and state["seq"] == 2


def test_a_power_lost_session_reads_as_stopped() -> None:
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.apply(obj("session_end", 9, 2, reason="power_lost", total_ms=9_000))
    assert snap.build()["status"] == "stopped"


def test_athlete_names_starting_with_an_underscore_are_reserved() -> None:
    with pytest.raises(ValueError, match="reserved"):
        check_athlete("_group")
    assert check_athlete("ana_b") == "ana_b"


class Clock:
    now_ms = 1_796_476_642_000


def gate() -> tuple[GroupStartGate, list[tuple[int, str]], list[str]]:
    got: list[tuple[int, str]] = []
    said: list[str] = []
    g = GroupStartGate(lambda at, sid: got.append((at, sid)), said.append, lambda: Clock.now_ms)
    return g, got, said


def test_a_group_start_is_handed_on_once() -> None:
    g, got, said = gate()
    message = group_start_message(5, now_ms=Clock.now_ms)
    payload = json.dumps(message).encode()
    assert g.feed(payload) is True
    assert not g.feed(payload)  # the same id again: a duplicate delivery
    assert got == [(Clock.now_ms + 5000, message["id"])]
    assert len(said) == 1 and "in 5000 ms" in said[0]


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (b"not json", "not JSON"),
        (b'{"v": 2, "id": "a", "at_ms": 1}', "not a version 1"),
        (b'{"v": 1, "at_ms": 1796476650000}', "no id"),
        (b'{"v": 1, "id": "a", "at_ms": "soon"}', "no at_ms"),
        (b'{"v": 1, "id": "a", "at_ms": 1796476641000}', "passed 1000 ms before"),
        (
            json.dumps({"v": 1, "id": "b", "at_ms": Clock.now_ms + MAX_AHEAD_MS + 1}).encode(),
            "more than 10 min",
        ),
    ],
)
def test_bad_past_and_far_starts_are_refused_and_said(message: bytes, why: str) -> None:
    g, got, said = gate()
    assert g.feed(message) is False
    assert got == [] and len(said) == 1 and why in said[0], said


def test_the_view_shows_what_waits_for_the_broker() -> None:
    from rich.console import Console

    from repcue.cli.live_cmd import _mqtt_line
    from repcue.live.broker import BrokerUrl
    from repcue.live.mqtt import LivePublisher
    from repcue.live.view import render

    publisher = LivePublisher(BrokerUrl.parse("mqtt://ana:pw@track.local"), "ana")
    for o in (ATTACHED, obj("session_start", 1, 1, session_id=3, steps=12)):
        publisher.put(o)  # no run(): the broker is away
    assert _mqtt_line(publisher) == "track.local:1883 away: 2 queued"
    publisher.connected, publisher.published = True, 40
    assert _mqtt_line(publisher) == "track.local:1883: 40 sent, 2 queued"
    console = Console(record=True, width=80)
    console.print(render(publisher.snapshot.state, 0.0, _mqtt_line(publisher)))
    assert ["mqtt", "track.local:1883:", "40", "sent,", "2", "queued"] in [
        line.split() for line in console.export_text().splitlines()
    ]


def test_the_documented_state_example_has_the_schemas_fields() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "live.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)[1:]]
    documented = next(b for b in blocks if "reps_done" in b)
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.set_program(PROGRAM)
    snap.apply(obj("session_start", 1, 1, session_id=3, steps=12))
    snap.apply(obj("step_start", 1, 2, index=0, kind="work"))
    snap.apply(obj("step_end", 172.2, 3, index=0, kind="work", reason="distance", actual_ms=1))
    snap.apply(obj("step_start", 172.2, 4, index=1, kind="recovery"))
    built = snap.build()
    assert set(documented) == set(built)
    for part in ("step", "next", "last_rep"):
        assert set(documented[part]) == set(built[part]), part


def test_objects_filled_in_after_a_gap_are_dated_by_their_wall() -> None:
    """refill.py's objects (after a link gap, from the session's record) happened earlier:
    the step they start began then, and the snapshot's clock does not go back."""
    snap = Snapshot("ana")
    snap.apply(ATTACHED)
    snap.set_program(PROGRAM)
    snap.apply(obj("session_start", 1, 1, session_id=3, steps=12))
    snap.apply(obj("step_start", 1, 2, index=0, kind="work"))
    snap.apply(obj("gap", 200, None, missed=None, why="link"))
    for o in (
        obj("step_end", 181, None, index=0, kind="work", reason="distance", actual_ms=180_000),
        obj("step_start", 181, None, index=1, kind="recovery"),
    ):
        snap.apply({**o, "filled": True})
    state = snap.build()
    assert state["wall"] == "2026-12-05T13:20:42.382+00:00"  # the gap's: T0 + 200 s
    assert state["step"]["kind"] == "recovery"
    assert state["step"]["started_wall"] == "2026-12-05T13:20:23.382+00:00"  # T0 + 181 s
    assert state["step"]["ends_wall"] == "2026-12-05T13:21:53.382+00:00"  # + 90 s
    assert state["last_rep"]["diff_ms"] == 0 and state["reps_done"] == 1
