"""The cue table: every cue id has a name (the host's) and a pattern (the board's), and no two
cues feel the same (a runner tells them apart without looking)."""

from __future__ import annotations

from repcue_fw import cues
from repcue_fw.wire import events as ev
from repcue_fw.wire.host.events import CUE_NAMES, cue_name


def test_every_cue_id_has_a_name_and_a_pattern() -> None:
    ids = {v for k, v in vars(ev).items() if k.startswith("CUE_")}
    assert ids == set(range(1, len(CUE_NAMES)))
    assert len(cues.PATTERNS) == len(CUE_NAMES)
    for cue_id in ids:
        assert cues.pattern(cue_id), cue_name(cue_id)
    assert cues.pattern(len(CUE_NAMES)) == ()


def test_no_two_cues_feel_the_same() -> None:
    patterns = [tuple(p) for p in cues.PATTERNS[1:]]
    assert len(set(patterns)) == len(patterns)


def test_warm_up_and_cool_down_have_their_own_cues() -> None:
    assert cue_name(ev.CUE_WARMUP) == "warmup"
    assert cue_name(ev.CUE_COOLDOWN) == "cooldown"
    recovery = cues.pattern(ev.CUE_RECOVERY)
    assert cues.pattern(ev.CUE_WARMUP) != recovery != cues.pattern(ev.CUE_COOLDOWN)
