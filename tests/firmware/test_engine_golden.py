"""Engine timelines as golden cue logs, for every plan-language example of issue 2.

Each example is built as a wire Program in tests/firmware/golden/harness.py (not through the
host parser) and run in the real micropython binary on a virtual 30-bit clock, with an
autopilot pressing lap around the target pace. The cue log ("ms cue step" lines, ms since
the session start) must match tests/firmware/golden/<name>.txt exactly, and must be the same
when the clock starts 5 s before the ticks wrap. Regenerate after a deliberate change with
REPCUE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.mpy import run_mpy

GOLDEN = Path(__file__).parent / "golden"

_RUN_ALL = """
import json
import harness as h
out = []
for name, text, program in h.examples():
    e0, c0, r0, log0 = h.session(program)
    ew, cw, rw, logw = h.session(program, start=h.NEAR_WRAP)
    out.append({
        "name": name, "text": text, "lines": log0.cue_lines(), "wrap_lines": logw.cue_lines(),
        "wrapped": cw.now < h.NEAR_WRAP, "finished": e0.finished,
        "records": len(r0.steps()), "planned": e0.planned_steps,
        "end": list(r0.end()), "wrap_end": list(rw.end()),
    })
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, object]]:
    out = run_mpy(_RUN_ALL, extra_path=[GOLDEN])
    return {r["name"]: r for r in json.loads(out.strip().splitlines()[-1])}


def _read_golden(name: str) -> list[str]:
    lines = (GOLDEN / f"{name}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _names() -> list[str]:
    return sorted(p.stem for p in GOLDEN.glob("*.txt"))


def test_every_example_has_a_golden_log(runs: dict[str, dict[str, object]]) -> None:
    if os.environ.get("REPCUE_UPDATE_GOLDEN"):
        for name, run in runs.items():
            lines = run["lines"]
            assert isinstance(lines, list)
            body = "\n".join([f"# {run['text']}", "# ms cue step", *lines])
            (GOLDEN / f"{name}.txt").write_text(body + "\n")
    assert sorted(runs) == _names()
    assert len(runs) == 13


@pytest.mark.parametrize("name", _names())
def test_cue_log_matches_golden(runs: dict[str, dict[str, object]], name: str) -> None:
    run = runs[name]
    assert run["lines"] == _read_golden(name)


@pytest.mark.parametrize("name", _names())
def test_same_log_and_records_across_the_ticks_wrap(
    runs: dict[str, dict[str, object]], name: str
) -> None:
    run = runs[name]
    assert run["wrapped"], "the clock should have passed 2**30 and wrapped"
    assert run["wrap_lines"] == run["lines"]
    assert run["wrap_end"] == run["end"]


@pytest.mark.parametrize("name", _names())
def test_each_example_finishes_with_every_planned_step_recorded(
    runs: dict[str, dict[str, object]], name: str
) -> None:
    run = runs[name]
    assert run["finished"]
    assert run["records"] == run["planned"]
    lines = run["lines"]
    assert isinstance(lines, list)
    assert lines[0].startswith("0 ")
    assert lines[-1].split()[1] == "finish"
    times = [int(line.split()[0]) for line in lines]
    assert times == sorted(times)


def test_golden_logs_say_what_the_plans_mean() -> None:
    # Spot checks written by hand, independent of the generated files.
    six = _read_golden("6x800_5k_jog")
    starts = [line for line in six if line.split()[1] in ("work", "last_rep", "recovery")]
    assert [s.split()[1] for s in starts] == ["work", "recovery"] * 5 + ["last_rep", "recovery"]
    # 800 m at 3:45/km is 180 s: a ghost every 22.5 s, the 8th at the expected finish.
    assert [line for line in six if line.endswith(" 0")][:3] == [
        "0 work 0",
        "22500 ghost 0",
        "45000 ghost 0",
    ]
    assert "180000 ghost 0" not in six  # the autopilot was 1.5 s ahead on rep 1
    assert "178500 recovery 1" in six
    assert "268500 work 2" in six  # 90 s jog, exactly, after the lap
    assert six[-1] == "1620000 finish 11"  # the last 90 s jog is kept (no drop)

    sets = _read_golden("3x4x400_3k")
    rests = [int(s.split()[0]) for s in sets if s.split()[1] == "recovery"]
    starts_ms = {int(s.split()[0]): s for s in sets}
    assert "1824000 last_rep 22" in sets  # the 12th 400 of 3x4, not the 4th of each set
    assert sum(1 for s in sets if s.split()[1] == "last_rep") == 1
    assert sets[-1].split()[1:] == ["finish", "22"]  # 23 steps: 12 reps, 9 x 60 s, 2 x 3 min
    assert len(rests) == 11
    assert 514500 in starts_ms and starts_ms[694500] == "694500 work 8"  # 3 min between sets

    tempo = _read_golden("tempo_threshold")
    assert tempo == [
        "0 work 0",
        "600000 halfway 0",
        "1195000 countdown 0",
        "1196000 countdown 0",
        "1197000 countdown 0",
        "1198000 countdown 0",
        "1199000 countdown 0",
        "1200000 finish 0",
    ]

    strides = _read_golden("strides_6x20")
    assert strides[-2:] == ["419000 countdown 10", "420000 finish 10"]  # final walk dropped
    assert "10000 halfway 0" in strides and "50000 halfway 1" in strides

    hills = _read_golden("hills_8x45")
    # jog down is open: no countdown in it, it ends when the autopilot laps after 60 s.
    assert "45000 recovery 1" in hills and "105000 work 2" in hills
    assert not any(line.split()[1] == "countdown" and line.endswith(" 1") for line in hills)


def test_cpython_runs_the_same_engine_to_the_same_logs() -> None:
    # The engine is plain MicroPython-subset code: the host can import it (e.g. to preview a
    # timeline) and must get exactly the device's cues.
    import sys

    sys.path.insert(0, str(GOLDEN))
    try:
        import harness
    finally:
        sys.path.remove(str(GOLDEN))
    for name, _text, program in harness.examples():
        _engine, _clock, _rec, log = harness.session(program, start=harness.NEAR_WRAP)
        assert log.cue_lines() == _read_golden(name), name


def test_warm_up_and_cool_down_start_with_cues_of_their_own() -> None:
    # they used to play the recovery cue: a runner could not tell "jog" from "warm up"
    log = _read_golden("wu_8x1min_cd")
    assert log[0] == "0 warmup 0"
    assert "1560000 cooldown 17" in log
    assert not [line for line in log if line.split()[1] == "recovery" and line.endswith(" 0")]
