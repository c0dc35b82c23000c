"""Expansion of a plan into the flat timeline a runner lives through, with time estimates.

Repeats are unrolled exactly as the device runs them (a dropped final recovery is left out of
the last round only). Distance steps get a time from their pace; open steps from the plan's
`~` estimate; what cannot be known is None, never a guess presented as fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from repcue.plan.model import (
    Cues,
    Distance,
    Duration,
    Effort,
    End,
    Fartlek,
    Node,
    Open,
    Pace,
    Step,
    StepKind,
    Target,
)
from repcue.plan.profile import NamedPaces

# Time estimates for distance steps with an effort instead of a pace: which pace to assume.
ASSUMED_NAMED_PACE = {"jog": "easy", "easy": "easy", "float": "marathon", "steady": "marathon"}
WALK_S_PER_KM = 600.0  # 6 km/h

RECOVERY_KINDS = (StepKind.RECOVERY, StepKind.REST)


@dataclass(frozen=True)
class PlannedStep:
    index: int  # 1-based position in the timeline
    kind: StepKind
    end: End
    target: Target | None
    label: str
    pace_s_per_km: float | None  # the pace target's value; None without one or when unknown
    planned_s: float | None  # expected time; None when it cannot be known
    start_s: float  # known time before this step
    rounds: tuple[tuple[int, int], ...]  # (round, count) of each enclosing repeat, outermost first
    countdown_s: int
    halfway: bool

    @property
    def context(self) -> str:
        """`2/6` for the second round of six; `1/3 · 2/4` inside sets."""
        return " · ".join(f"{r}/{n}" for r, n in self.rounds)


def ends_with_recovery(body: Sequence[Node]) -> bool:
    last = body[-1]
    return isinstance(last, Step) and last.kind in RECOVERY_KINDS


def iter_steps(
    nodes: Sequence[Node], rounds: tuple[tuple[int, int], ...] = ()
) -> list[tuple[Step, tuple[tuple[int, int], ...]]]:
    """Every step the device runs, in order, with its repeat rounds."""
    out: list[tuple[Step, tuple[tuple[int, int], ...]]] = []
    for node in nodes:
        if isinstance(node, Fartlek):
            raise TypeError("resolve fartleks (repcue.plan.fartlek) before expanding")
        if isinstance(node, Step):
            out.append((node, rounds))
            continue
        drop = node.drop_last_recovery and ends_with_recovery(node.body)
        for r in range(1, node.count + 1):
            body = node.body[:-1] if drop and r == node.count else node.body
            out.extend(iter_steps(body, (*rounds, (r, node.count))))
    return out


def estimate_s(step: Step, paces: NamedPaces) -> tuple[float | None, float | None]:
    """(the step's target pace in s/km or None, its expected time in s or None)."""
    pace = paces.pace_of(step.target) if isinstance(step.target, Pace) else None
    end = step.end
    if isinstance(end, Duration):
        return pace, float(end.seconds)
    if isinstance(end, Open):
        return pace, None if end.estimate_s is None else float(end.estimate_s)
    if pace is not None:
        return pace, end.metres * pace / 1000.0
    if end.estimate_s is not None:
        return pace, float(end.estimate_s)
    assumed = _assumed_pace(step.target, paces)
    return pace, None if assumed is None else end.metres * assumed / 1000.0


def _assumed_pace(target: Target | None, paces: NamedPaces) -> float | None:
    if not isinstance(target, Effort):
        return None
    if target.word == "walk":
        return WALK_S_PER_KM
    named = ASSUMED_NAMED_PACE.get(target.word)
    return paces.get(named) if named else None


def expand(nodes: Sequence[Node], cues: Cues, paces: NamedPaces) -> tuple[PlannedStep, ...]:
    """The timeline of resolved `nodes` (no Fartlek left), numbered from 1."""
    out: list[PlannedStep] = []
    clock_s = 0.0
    for i, (step, rounds) in enumerate(iter_steps(nodes), start=1):
        pace, planned = estimate_s(step, paces)
        out.append(
            PlannedStep(
                index=i,
                kind=step.kind,
                end=step.end,
                target=step.target,
                label=step.label,
                pace_s_per_km=pace,
                planned_s=planned,
                start_s=clock_s,
                rounds=rounds,
                countdown_s=cues.countdown_s if step.countdown_s is None else step.countdown_s,
                halfway=cues.halfway if step.halfway is None else step.halfway,
            )
        )
        clock_s += planned or 0.0
    return tuple(out)


def known_distance_m(step: PlannedStep) -> int:
    return step.end.metres if isinstance(step.end, Distance) else 0
