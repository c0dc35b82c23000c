"""The coach's board: tiles from state/status messages, sessions once per uid, offline
tiles kept, and anything that is not what its topic promises ignored (and counted)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from repcue.coach.board import Board, Change
from repcue.coach.feed import CoachError, group_start
from tests.coach.helpers import session, snapshot, topic


def _state(board: Board, athlete: str, device: str, **fields: Any) -> Change | None:
    payload = json.dumps(snapshot(athlete, device, **fields)).encode()
    return board.apply(topic(athlete, device, "state"), payload)


def test_a_state_makes_a_tile_online_and_the_next_state_replaces_it() -> None:
    board = Board()
    change = _state(board, "ana", "aaaa01", rep=1)
    assert change is not None and change.kind == "state"
    (tile,) = board.athletes()
    assert (tile["athlete"], tile["device_id"], tile["online"]) == ("ana", "aaaa01", True)
    assert tile["step"]["rep"] == 1
    _state(board, "ana", "aaaa01", rep=2)
    (tile,) = board.athletes()
    assert tile["step"]["rep"] == 2


def test_tiles_are_per_athlete_and_device_in_a_stable_order() -> None:
    board = Board()
    for athlete, device in [("ben", "b2"), ("ana", "a9"), ("ana", "a1")]:
        _state(board, athlete, device)
    assert [(t["athlete"], t["device_id"]) for t in board.athletes()] == [
        ("ana", "a1"),
        ("ana", "a9"),
        ("ben", "b2"),
    ]


def test_the_topic_names_the_athlete_not_the_payload() -> None:
    board = Board()
    wrong = snapshot("ben", "aaaa01")  # a payload claiming to be someone else
    board.apply(topic("ana", "aaaa01", "state"), json.dumps(wrong).encode())
    (tile,) = board.athletes()
    assert tile["athlete"] == "ana"


def test_offline_keeps_the_tile_and_its_last_state() -> None:
    board = Board()
    _state(board, "ana", "aaaa01", rep=4)
    change = board.apply(topic("ana", "aaaa01", "status"), b"offline")
    assert change is not None and change.data["online"] is False
    (tile,) = board.athletes()
    assert tile["online"] is False and tile["step"]["rep"] == 4
    # the same status again changes nothing; online again does
    assert board.apply(topic("ana", "aaaa01", "status"), b"offline") is None
    assert board.apply(topic("ana", "aaaa01", "status"), b"online") is not None
    assert board.athletes()[0]["online"] is True


def test_a_status_before_any_state_makes_a_named_tile_that_the_state_fills() -> None:
    board = Board()
    board.apply(topic("ana", "aaaa01", "status"), b"offline")
    (tile,) = board.athletes()
    assert tile == {"athlete": "ana", "device_id": "aaaa01", "status": None, "online": False}
    _state(board, "ana", "aaaa01", rep=3)
    (tile,) = board.athletes()
    assert tile["online"] is False and tile["step"]["rep"] == 3  # a retained old state


def test_an_emptied_status_greys_the_tile() -> None:
    board = Board()
    _state(board, "ana", "aaaa01")
    assert board.apply(topic("ana", "aaaa01", "status"), b"") is not None
    assert board.athletes()[0]["online"] is False


def test_sessions_are_kept_once_per_uid_newest_first() -> None:
    board = Board()
    first = board.apply(topic("ana", "a1", "session"), json.dumps(session("ana", "a1", 3)).encode())
    assert first is not None and first.kind == "session"
    again = board.apply(topic("ana", "a1", "session"), json.dumps(session("ana", "a1", 3)).encode())
    assert again is None  # QoS 1 may deliver twice; sync may publish again
    board.apply(topic("ben", "b1", "session"), json.dumps(session("ben", "b1", 7)).encode())
    assert [s["uid"] for s in board.finished()] == ["b1-7", "a1-3"]
    assert board.finished()[1]["athlete"] == "ana"


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("repcue/v1/ana/a1/state", b"{not json"),
        ("repcue/v1/ana/a1/state", b"[1, 2]"),
        ("repcue/v1/ana/a1/state", b"\xff\xfe"),
        ("repcue/v1/ana/a1/session", b'{"athlete": "ana"}'),  # no uid
        ("repcue/v1/ana/a1/status", b"maybe"),
        ("repcue/v1/_group/a1/state", b"{}"),
        ("repcue/v1/ana/state", b"{}"),
        ("repcue/v2/ana/a1/state", b"{}"),
        ("repcue/v1/ana/a1/event", b"{}"),
    ],
)
def test_what_is_not_what_its_topic_promises_is_ignored_and_counted(
    name: str, payload: bytes
) -> None:
    board = Board()
    assert board.apply(name, payload) is None
    assert board.ignored == 1
    assert board.athletes() == [] and board.finished() == []


def test_a_group_start_is_a_few_seconds_ahead_with_a_fresh_id() -> None:
    one = group_start(5, now_ms=1_000_000)
    two = group_start(5, now_ms=1_000_000)
    assert one["v"] == 1 and one["at_ms"] == 1_005_000
    assert len(one["id"]) == 32 and one["id"] != two["id"]
    for bad in (0, -1, 61):
        with pytest.raises(CoachError, match="seconds"):
            group_start(bad)
