"""A plan as intervals.icu workout text: the inverse of icu.py, for `repcue plan export`.

    name: Track 800s
    - warmup 10m
    6x
    - 800mtr 4:00/km Pace
    - recovery 90s jog

intervals.icu has one level of repeats, no named paces but threshold (`95% Pace`), and no
cues: named paces are written as the profile's explicit pace (PlanError when the profile does
not know one), nested repeats are refused, and what the text cannot carry (cues, the expected
time of a distance step, "no recovery after the last round") is returned as warnings.
Read back, the text gives the same device program: kinds, ends and targets (labels may gain
the kind and effort words the text needs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from repcue.errors import PlanError
from repcue.plan.fartlek import resolve
from repcue.plan.fit_workout import cue_words
from repcue.plan.icu import parse_icu
from repcue.plan.model import (
    Distance,
    Duration,
    Effort,
    HrZone,
    Node,
    Pace,
    Plan,
    Repeat,
    Rpe,
    Step,
    StepKind,
    Target,
)
from repcue.plan.profile import NamedPaces

_PLAIN_WORDS = re.compile(r"[A-Za-z][A-Za-z ]*")
_EFFORT_TEXT = {"all out": "max"}  # `all out` is two words; icu reads `max` as all out
_KIND_TEXT = {
    StepKind.WARMUP: "warmup",
    StepKind.COOLDOWN: "cooldown",
    StepKind.RECOVERY: "recovery",
    StepKind.REST: "rest",
    StepKind.WORK: "work",
}


@dataclass
class IcuText:
    text: str
    warnings: list[str] = field(default_factory=list)


def amount_text(seconds: int) -> str:
    """`10m`, `45s`, `1m30s`, `1h5m`: icu's `m` is minutes."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{value}{unit}" for value, unit in parts if value)


class _Writer:
    def __init__(self, paces: NamedPaces, kind_words: set[int]) -> None:
        self.paces = paces
        self.kind_words = kind_words  # flat step numbers that need their kind written
        self.warnings: list[str] = []
        self.count = 0

    def lines(self, nodes: Sequence[Node]) -> list[str]:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, Step):
                out.append(self.step(node))
                continue
            if not isinstance(node, Repeat):
                raise TypeError("resolve fartleks before writing intervals.icu text")
            if any(isinstance(inner, Repeat) for inner in node.body):
                raise PlanError(
                    f"step {self.count + 1}: intervals.icu text has no repeats inside repeats; "
                    "export this plan as FIT"
                )
            if node.drop_last_recovery:
                self.warnings.append(
                    f"step {self.count + 1}: the last round keeps its recovery "
                    "(intervals.icu cannot leave it out)"
                )
            block = [self.step(inner) for inner in node.body if isinstance(inner, Step)]
            if out and out[-1]:
                out.append("")
            out.extend([f"{node.count}x", *block, ""])
        return out

    def step(self, step: Step) -> str:
        self.count += 1
        words: list[str] = []
        if self.count in self.kind_words:
            words.append(_KIND_TEXT[step.kind])
        if isinstance(step.target, Effort):
            words.append(_EFFORT_TEXT.get(step.target.word, step.target.word))
        if _PLAIN_WORDS.fullmatch(step.label):  # `40/20` would read as amounts
            words.append(step.label)
        end = step.end
        if isinstance(end, Duration):
            words.append(amount_text(end.seconds))
        elif isinstance(end, Distance):
            words.append(f"{end.metres}mtr")
            if end.estimate_s is not None:
                self.warnings.append(f"step {self.count}: its expected time ~{end.estimate_s}s")
        else:
            if end.estimate_s is not None:
                words.append(amount_text(end.estimate_s))
            words.append("press lap")
        target = self.target(step.target)
        if target:
            words.append(target)
        if step.countdown_s is not None or step.halfway is not None:
            self.warnings.append(f"step {self.count}: its own countdown/halfway cues")
        return "- " + " ".join(words)

    def target(self, target: Target | None) -> str:
        if isinstance(target, HrZone):
            return f"Z{target.zone} HR"
        if isinstance(target, Rpe):
            return f"RPE {target.level}"
        if not isinstance(target, Pace):
            return ""
        if target.name == "threshold":
            return f"{target.percent}% Pace"
        s_per_km = self.paces.pace_of(target)
        if s_per_km is None:
            raise PlanError(
                f"step {self.count}: intervals.icu text has no {target.name} pace; give a "
                "profile that knows it (--profile) and it is written as that pace per km"
            )
        if target.name:
            self.warnings.append(f"step {self.count}: {target.name} pace written as its pace")
        whole = round(s_per_km)
        if whole != s_per_km:
            self.warnings.append(f"step {self.count}: pace rounded to whole seconds")
        return f"{whole // 60}:{whole % 60:02d}/km Pace"


def _flat_kinds(nodes: Sequence[Node]) -> list[StepKind]:
    out: list[StepKind] = []
    for node in nodes:
        if isinstance(node, Step):
            out.append(node.kind)
        elif isinstance(node, Repeat):
            out.extend(_flat_kinds(node.body))
    return out


def icu_text(plan: Plan, paces: NamedPaces | None = None) -> IcuText:
    """The plan as intervals.icu text (fartleks resolved), and what the text leaves out."""
    nodes = resolve(plan).nodes
    paces = paces or NamedPaces()
    wanted = _flat_kinds(nodes)
    kind_words: set[int] = set()
    # write a kind word only where the step's place would say another kind
    for _ in range(2):
        writer = _Writer(paces, kind_words)
        body = writer.lines(nodes)
        text = "\n".join([f"name: {plan.name}", *body]).rstrip() + "\n"
        got = _flat_kinds(parse_icu(text).nodes)
        wrong = {i + 1 for i, (a, b) in enumerate(zip(wanted, got, strict=True)) if a is not b}
        if not wrong:
            break
        kind_words |= wrong
    cues = cue_words(plan.cues)
    if cues:
        writer.warnings.append(f"the plan's {cues}")
    return IcuText(text, writer.warnings)
