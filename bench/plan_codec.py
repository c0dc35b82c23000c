"""Plan codec bench: device program size of every plan-language example of issue 2.

For each example: program bytes, steps the device runs (repeats unrolled), bytes per step
(all bytes, and without what every program pays once: version, flags, name length, node
count, CRC, and its name), and the bytes the same steps would take unrolled. The name
(program format 2) is the plan's, here derived from the text since the examples are inline.
Named paces come from a sample profile (5k in 20:00) so pace targets carry real values.
Targets: the 6x800 plan with warm-up and cool-down in <= 64 bytes; <= 6 bytes per step.

Prints the figures with their targets; the last line is one JSON object, also written to
bench/results/plan_codec.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.host.plan_examples import ISSUE_2_EXAMPLES  # noqa: E402

from repcue.plan import check  # noqa: E402
from repcue.plan.profile import parse_profile  # noqa: E402
from repcue_fw.wire.host import program as wp  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "plan_codec.json"

TARGET_6X800_BYTES = 64
TARGET_BYTES_PER_STEP = 6.0
SIX_BY_800 = "10min wu, 6x800m @5k w/ 90s jog, 10min cd"
EXAMPLES = [
    SIX_BY_800,
    *ISSUE_2_EXAMPLES,
    "40x(200m, 200m jog)",
]
PROFILE = parse_profile('[races]\n5k = "20:00"\n')
# Version, flags, name length, node count (one byte below 128 nodes) and the CRC-32: paid
# once a program, and its name on top.
FRAME_BYTES = 8


def step_cost(node: object) -> int:
    """Bytes one step (or repeat header with its body) takes inside a program."""
    return len(wp.encode(wp.Program([node]))) - FRAME_BYTES


def unrolled_bytes(program: wp.Program) -> int:
    """What the same steps would take with every repeat unrolled (what loops save)."""
    steps: list[object] = []

    def unroll(nodes: list[object]) -> None:
        for node in nodes:
            if isinstance(node, wp.Repeat):
                for _ in range(node.count):
                    unroll(node.body)
            else:
                steps.append(node)

    unroll(program.nodes)
    return FRAME_BYTES + sum(step_cost(step) for step in steps)


def main() -> None:
    rows = []
    started = time.perf_counter()
    for text in EXAMPLES:
        report = check(text, profile=PROFILE)
        program = wp.decode(report.program)
        steps = wp.expanded_count(program.nodes)
        size = len(report.program)
        name_bytes = len(program.name.encode())
        rows.append(
            {
                "plan": text,
                "bytes": size,
                "name_bytes": name_bytes,
                "steps": steps,
                "bytes_per_step": round(size / steps, 2),
                "step_bytes_per_step": round((size - FRAME_BYTES - name_bytes) / steps, 2),
                "unrolled_bytes": unrolled_bytes(program),
            }
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    width = max(len(str(r["plan"])) for r in rows)
    limit = f"{TARGET_BYTES_PER_STEP:g}"
    print(
        f"{'plan':{width}}  bytes  name  steps  bytes/step  without the {FRAME_BYTES}-byte frame "
        f"and name (target <= {limit})  unrolled bytes"
    )
    for r in rows:
        per_step = float(r["step_bytes_per_step"])  # type: ignore[arg-type]
        verdict = "ok" if per_step <= TARGET_BYTES_PER_STEP else "OVER"
        print(
            f"{r['plan']:{width}}  {r['bytes']:5}  {r['name_bytes']:4}  {r['steps']:5}"
            f"  {r['bytes_per_step']:10.2f}"
            f"  {per_step:10.2f} {verdict:4}{'':24}{r['unrolled_bytes']:6}"
        )
    six = rows[0]
    costs = [float(r["step_bytes_per_step"]) for r in rows]  # type: ignore[arg-type]
    print(
        f"6x800 with wu+cd: {six['bytes']} bytes (target <= {TARGET_6X800_BYTES}), "
        f"{six['bytes_per_step']} bytes/step (target <= {limit})"
    )
    print(
        f"bytes per step without the frame, over all examples: max {max(costs):.2f}, "
        f"mean {sum(costs) / len(costs):.2f} (target <= {limit})"
    )
    print(f"parse + check + encode of {len(rows)} plans: {elapsed_ms:.1f} ms")
    summary = {
        "six_by_800_bytes": six["bytes"],
        "six_by_800_target_bytes": TARGET_6X800_BYTES,
        "six_by_800_bytes_per_step": six["bytes_per_step"],
        "max_step_bytes_per_step": max(costs),
        "mean_step_bytes_per_step": round(sum(costs) / len(costs), 2),
        "target_bytes_per_step": TARGET_BYTES_PER_STEP,
        "over_target": [
            r["plan"] for r, cost in zip(rows, costs, strict=True) if cost > TARGET_BYTES_PER_STEP
        ],
        "examples": rows,
        "elapsed_ms": round(elapsed_ms, 1),
    }
    line = json.dumps(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
