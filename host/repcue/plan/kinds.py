"""Steps as written (drafts), and how a step's kind follows from its place when not written.

Both parsers (plan language and intervals.icu) produce drafts and settle them here, so the
same rules hold for both:
- a kind word (`wu`, `rec`, `rest`, `cd`) always wins;
- in a repeat body the first step is work; a later step is recovery when it is easy
  (no target, or walk/jog/easy/float, RPE <= 5, zone <= 2) and work otherwise;
- at the top level an easy step before the first work is the warm-up, after
  the last work the cool-down, and a recovery in between; when nothing in the plan is work,
  easy steps are the work (`45min easy` is an easy run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from repcue.plan.intensity import is_easy
from repcue.plan.model import End, Node, SourcePos, Step, StepKind, Target


@dataclass
class Draft:
    """A step being parsed: what was written, its kind still open."""

    pos: SourcePos
    end: End | None = None
    kind: StepKind | None = None
    target: Target | None = None
    countdown_s: int | None = None
    halfway: bool | None = None
    label: str = ""

    def easy(self) -> bool:
        return self.target is None or is_easy(self.target)

    def step(self, kind: StepKind | None = None) -> Step:
        if self.end is None:
            raise ValueError("a draft without an end cannot become a step")
        return Step(
            self.kind or kind or StepKind.WORK,
            self.end,
            self.target,
            self.countdown_s,
            self.halfway,
            self.label,
            self.pos,
        )


Item = Draft | Node


def _is_work(item: Item) -> bool:
    if isinstance(item, Draft):
        return item.kind is StepKind.WORK or (item.kind is None and not item.easy())
    if isinstance(item, Step):
        return item.kind is StepKind.WORK
    return True  # repeats and fartleks are the work of a plan


def settle(items: Sequence[Item], where: Literal["top", "repeat"]) -> tuple[Node, ...]:
    """Drafts become steps with their kind decided by position (see the module docstring)."""
    if where == "repeat":
        out: list[Node] = []
        for i, item in enumerate(items):
            if isinstance(item, Draft):
                easy = i > 0 and item.easy()
                out.append(item.step(StepKind.RECOVERY if easy else StepKind.WORK))
            else:
                out.append(item)
        return tuple(out)
    work_at = [i for i, item in enumerate(items) if _is_work(item)]
    first, last = (work_at[0], work_at[-1]) if work_at else (len(items), -1)
    top: list[Node] = []
    for i, item in enumerate(items):
        if not isinstance(item, Draft):
            top.append(item)
        elif not work_at or _is_work(item):
            top.append(item.step(StepKind.WORK))
        elif i < first:
            top.append(item.step(StepKind.WARMUP))
        elif i > last:
            top.append(item.step(StepKind.COOLDOWN))
        else:
            top.append(item.step(StepKind.RECOVERY))
    return tuple(top)


def labelled(draft: Draft, label: str) -> Draft:
    """A part's label (`hills`, `tempo`) on its rep: the step is work and named so."""
    if label:
        draft.label = draft.label or label
        draft.kind = draft.kind or StepKind.WORK
    return draft
