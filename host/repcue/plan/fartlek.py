"""Random fartleks resolved into plain steps, reproducibly from their seed.

Only `random.Random(seed).random()` is used: for an int seed its sequence is the same on every
Python version, so a plan file always yields the same program. Surge lengths are whole
seconds drawn uniformly from the range; the easy running around them (one stretch before,
between and after the surges) gets at least the shortest surge's length each, and the rest
of the time is shared out by random weights.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from repcue.plan.model import Duration, Effort, Fartlek, Node, Plan, Repeat, Step, StepKind

SEED_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class Resolved:
    nodes: tuple[Node, ...]  # no Fartlek left
    seeds: tuple[int, ...]  # the seed each fartlek used, in plan order
    derived: tuple[bool, ...]  # whether that seed came from the plan text (not written)


def fartlek_steps(fartlek: Fartlek, seed: int) -> tuple[Step, ...]:
    rng = random.Random(seed)
    span = fartlek.surge_max_s - fartlek.surge_min_s
    surges = [fartlek.surge_min_s + int(rng.random() * (span + 1)) for _ in range(fartlek.surges)]
    easy_total_s = fartlek.duration_s - sum(surges)
    gaps = fartlek.surges + 1
    spare_s = easy_total_s - gaps * fartlek.min_gap_s
    weights = [rng.random() for _ in range(gaps)]
    weight_sum = sum(weights) or 1.0
    easy = [fartlek.min_gap_s + int(spare_s * w / weight_sum) for w in weights]
    easy[-1] += easy_total_s - sum(easy)  # what rounding left over
    steps: list[Step] = []
    for i, easy_s in enumerate(easy):
        steps.append(
            Step(
                StepKind.RECOVERY, Duration(easy_s), Effort("easy"), label="fartlek", at=fartlek.at
            )
        )
        if i < len(surges):
            steps.append(
                Step(
                    StepKind.WORK,
                    Duration(surges[i]),
                    fartlek.surge_target,
                    label="surge",
                    at=fartlek.at,
                )
            )
    return tuple(steps)


def resolve(plan: Plan) -> Resolved:
    """The plan's nodes with each fartlek replaced by its steps."""
    seeds: list[int] = []
    derived: list[bool] = []

    def walk(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
        out: list[Node] = []
        for node in nodes:
            if isinstance(node, Fartlek):
                seed = node.seed
                derived.append(seed is None)
                if seed is None:
                    seed = (plan.base_seed + len(seeds)) & SEED_MASK
                seeds.append(seed)
                out.extend(fartlek_steps(node, seed))
            elif isinstance(node, Repeat):
                out.append(replace(node, body=walk(node.body)))
            else:
                out.append(node)
        return tuple(out)

    nodes = walk(plan.nodes)
    return Resolved(nodes, tuple(seeds), tuple(derived))
