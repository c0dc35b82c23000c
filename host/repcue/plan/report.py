"""Checking a plan: its timeline, totals, anaerobic verdict, device program and warnings.

`build_report()` is what `repcue plan check` shows; `PlanReport.to_json()` is its `--json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repcue.plan import compile as compiler
from repcue.plan.fartlek import resolve
from repcue.plan.intensity import anaerobic
from repcue.plan.model import (
    Distance,
    Duration,
    Effort,
    HrZone,
    Open,
    Pace,
    Plan,
    Rpe,
    StepKind,
    Target,
)
from repcue.plan.profile import NamedPaces, Profile
from repcue.plan.timeline import RECOVERY_KINDS, PlannedStep, expand, known_distance_m
from repcue_fw.wire.host import program as wp


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    steps: tuple[PlannedStep, ...]
    program: bytes
    seeds: tuple[int, ...]
    paces: NamedPaces
    anaerobic: bool
    anaerobic_reason: str
    warnings: tuple[str, ...]

    @property
    def work_steps(self) -> int:
        return sum(1 for s in self.steps if s.kind is StepKind.WORK)

    @property
    def total_time_s(self) -> int:
        return round(sum(s.planned_s or 0.0 for s in self.steps))

    @property
    def total_distance_m(self) -> int:
        return sum(known_distance_m(s) for s in self.steps)

    @property
    def work_s(self) -> float:
        return sum(s.planned_s or 0.0 for s in self.steps if s.kind is StepKind.WORK)

    @property
    def rest_s(self) -> float:
        return sum(s.planned_s or 0.0 for s in self.steps if s.kind in RECOVERY_KINDS)

    @property
    def unknown_time_steps(self) -> int:
        return sum(1 for s in self.steps if s.planned_s is None)

    @property
    def work_rest_ratio(self) -> float | None:
        """Work time over recovery and rest time; None unless both are known and not zero."""
        counted = (StepKind.WORK, *RECOVERY_KINDS)
        if any(s.planned_s is None for s in self.steps if s.kind in counted):
            return None
        return self.work_s / self.rest_s if self.rest_s and self.work_s else None

    @property
    def unknown_paces(self) -> tuple[str, ...]:
        names = {
            s.target.name
            for s in self.steps
            if isinstance(s.target, Pace) and s.target.name and s.pace_s_per_km is None
        }
        return tuple(sorted(names, key=wp.PACE_NAMES.index))

    @property
    def program_id(self) -> int:
        return int(wp.program_id(self.program))

    def to_json(self) -> dict[str, object]:
        ratio = self.work_rest_ratio
        return {
            "name": self.plan.name,
            "format": self.plan.format,
            "steps": [step_json(s) for s in self.steps],
            "work_steps": self.work_steps,
            "total_time_s": self.total_time_s,
            "total_distance_m": self.total_distance_m,
            "work_s": round(self.work_s),
            "rest_s": round(self.rest_s),
            "work_rest_ratio": None if ratio is None else round(ratio, 2),
            "anaerobic": self.anaerobic,
            "anaerobic_reason": self.anaerobic_reason,
            "program_bytes": len(self.program),
            "program_hex": self.program.hex(),
            "program_id": f"{self.program_id:08x}",
            "seed": self.seeds[0] if self.seeds else None,
            "seeds": list(self.seeds),
            "cues": {
                "countdown_s": self.plan.cues.countdown_s,
                "halfway": self.plan.cues.halfway,
                "last_rep": self.plan.cues.last_rep,
            },
            "paces": {
                name: {"s_per_km": round(v.s_per_km, 1), "source": v.source}
                for name, v in self.paces.values.items()
            },
            "unknown_paces": list(self.unknown_paces),
            "profile": str(self.paces.path) if self.paces.path else None,
            "warnings": list(self.warnings),
        }


def target_json(target: Target | None, pace_s_per_km: float | None) -> dict[str, object] | None:
    if target is None:
        return None
    if isinstance(target, Pace):
        out: dict[str, object] = {"type": "pace", "name": target.name or None}
        if target.percent != 100:
            out["percent"] = target.percent
        out["s_per_km"] = None if pace_s_per_km is None else round(pace_s_per_km, 1)
        return out
    if isinstance(target, Effort):
        return {"type": "effort", "effort": target.word}
    if isinstance(target, Rpe):
        return {"type": "rpe", "rpe": target.level}
    if isinstance(target, HrZone):
        return {"type": "hr_zone", "zone": target.zone}
    raise TypeError(target)


def step_json(step: PlannedStep) -> dict[str, object]:
    out: dict[str, object] = {"index": step.index, "kind": step.kind.value}
    end = step.end
    if isinstance(end, Duration):
        out["duration_s"] = end.seconds
    elif isinstance(end, Distance):
        out["distance_m"] = end.metres
    else:
        out["open"] = True
    if isinstance(end, Distance | Open) and end.estimate_s is not None:
        out["estimate_s"] = end.estimate_s
    out["target"] = target_json(step.target, step.pace_s_per_km)
    out["label"] = step.label
    out["planned_s"] = None if step.planned_s is None else round(step.planned_s, 1)
    out["start_s"] = round(step.start_s, 1)
    out["rounds"] = [[r, n] for r, n in step.rounds]  # [round, count] per enclosing repeat
    return out


def build_report(plan: Plan, profile: Profile | None) -> PlanReport:
    paces = profile.named_paces() if profile else NamedPaces()
    resolved = resolve(plan)
    steps = expand(resolved.nodes, plan.cues, paces)
    program = compiler.encode(compiler.to_program(resolved.nodes, plan.cues, paces, plan.name))
    hard, reason = anaerobic(steps, paces)
    warnings = list(plan.warnings)
    for seed, derived in zip(resolved.seeds, resolved.derived, strict=True):
        if derived:
            warnings.append(
                f"fartlek surges come from seed {seed}, derived from the plan text; add "
                f"', seed {seed}' after the fartlek to keep them when you edit the plan"
            )
    unknown = [s for s in steps if s.planned_s is None]
    if unknown:
        which = ", ".join(f"#{s.index}" for s in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        warnings.append(
            f"{len(unknown)} step(s) have no time estimate ({which}); totals leave them out "
            "(give open steps a '~90s' estimate, distance steps a pace)"
        )
    return PlanReport(plan, steps, program, resolved.seeds, paces, hard, reason, tuple(warnings))


def profile_hint(path: Path, unknown: tuple[str, ...]) -> str:
    """How to make unknown named paces known (the CLI prints it)."""
    return "\n".join(
        [
            f"unknown named paces: {', '.join(unknown)}; those steps run without pace cues.",
            f"Set a race result or pace in {path} (or pass --profile FILE), for example:",
            "  [races]",
            '  5k = "20:00"',
            "  [paces]",
            '  easy = "5:45/km"',
            "The other named paces follow by Riegel's formula (see docs/plans.md).",
        ]
    )
