"""`repcue sim serve` names what it prints: the event, and its a/b fields by meaning."""

from __future__ import annotations

import pytest

from repcue.cli.sim_cmd import _describe
from repcue_fw.wire.host import events as ev


def _line(code: int, a: int, b: int) -> str:
    line = _describe({"k": "ev", "c": code, "a": a, "b": b, "ms": 1500})
    assert line is not None
    return line


@pytest.mark.parametrize("code", sorted(set(ev.EVENT_NAMES) - {ev.EV_CUE}))
def test_every_event_is_printed_by_name_never_as_raw_fields(code: int) -> None:
    line = _line(code, 1, 2)
    assert ev.EVENT_NAMES[code] in line
    assert "a=" not in line and "b=" not in line


@pytest.mark.parametrize(
    ("code", "a", "b", "words"),
    [
        (ev.EV_SESSION_START, 3, 18, "session start  session=3 steps=18"),
        (ev.EV_STEP_START, 2, 1, "step start  step=2 kind=work"),
        (ev.EV_LAP, 4, 72_400, "lap  step=4 split=72.4s"),
        (ev.EV_PAUSE, 4, 30_000, "pause  step=4 into_step=30.0s"),
        (ev.EV_RESUME, 4, 12_000, "resume  step=4 paused=12.0s"),
        (ev.EV_STEP_END, 4, 1, "step end  step=4 by=lap"),
        (ev.EV_FINISH, 1, 2_400_000, "finish  reason=stopped total=2400.0s"),
        (ev.EV_REFUSED, 1, 0, "refused  by=no program"),
    ],
)
def test_event_fields_are_named_by_meaning(code: int, a: int, b: int, words: str) -> None:
    assert _line(code, a, b) == f"    1.500s  {words}"


def test_a_cue_event_is_left_to_the_cue_record() -> None:
    assert _describe({"k": "ev", "c": ev.EV_CUE, "a": 2, "b": 0, "ms": 0}) is None
    assert _describe({"k": "cue", "c": ev.CUE_WORK, "ms": 0}) == "    0.000s  cue  work"


def test_sleep_and_wake_are_shown() -> None:
    assert _describe({"k": "sleep", "for": 600_000, "ms": 5_000}) == "    5.000s  sleep"
    wake = {"k": "wake", "why": "button", "slept": 12_500, "ms": 17_500}
    assert _describe(wake) == "   17.500s  wake  by=button slept=12.5s"
