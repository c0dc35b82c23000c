"""Exporting sessions: 1,000 stored sessions of 20 steps each to FIT, then to TCX.

Each session is the plan `10min wu, 9x(800m @3:45/km w/ 90s jog) ... 10min cd` (20 steps,
about an hour: ~3,600 one-second records), recorded with the session record encoder the
firmware and host share, stored in a real SQLite store on disk, and exported the way
`repcue export` does it (store read, session_report, timeline, encode). Figures:
  ms_per_session       FIT, end to end, mean over the sessions (goal < 20 ms)
  fit_encode_ms        of that, the FIT encoding alone (the SDK's Encoder and our fast path)
  fit_bytes_per_step   FIT file bytes / steps (records included: they are most of it)
  tcx_ms_per_session, tcx_bytes_per_step: the same for TCX (text, xml.sax.saxutils escapes)
A busy core elsewhere (another process spinning) is what `--label busy` records alongside.

Usage: python bench/export.py [--sessions 1000] [--label idle]
The last line printed is one JSON object; it is also written to bench/results/export.json
(one entry per label, so the idle and the busy runs sit side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repcue import plan  # noqa: E402
from repcue.export import build_timeline, export_session  # noqa: E402
from repcue.export.fit import fit_activity  # noqa: E402
from repcue.store import Store  # noqa: E402
from repcue.store.analysis import session_report  # noqa: E402
from repcue.sync import decode_session_bytes  # noqa: E402
from repcue_fw.wire.host import program as wp  # noqa: E402
from repcue_fw.wire.host import records as wr  # noqa: E402
from repcue_fw.wire.steps import Cursor  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "export.json"
GOAL_MS_PER_SESSION = 20.0
PLAN = "name: Bench 9x800\n10min wu\n9x(800m @3:45/km w/ 90s jog)\n10min cd"
DEVICE_ID = "51fd58aca55e"
START_S = 1_764_931_200


def fill(store: Store, sessions: int) -> int:
    """Store `sessions` runs of PLAN; returns the steps per session."""
    program = plan.program_bytes(plan.parse(PLAN))
    store.upsert_device(DEVICE_ID, name="bench", board="sim", firmware_version="0.4.2")
    count = 0
    for sid in range(1, sessions + 1):
        cursor, steps = Cursor(program), []
        while (step := cursor.next()) is not None:
            if step.end == wp.END_DISTANCE:
                ms, end = round(step.target_value / 10 * step.value) + sid % 700, wr.END_LAP
            else:
                ms, end = step.value * 1000, wr.END_TIME
            steps.append(wr.StoredStep(len(steps), step.kind, end, step.value, ms))
        total = sum(s.elapsed_ms for s in steps)
        session = wr.StoredSession(
            sid, wp.program_id(program), START_S + sid * 86_400, 5_000, steps,
            wr.END_FINISHED, total + 30_000, 30_000, 1, 40, 12, program,
        )  # fmt: skip
        store.add_session(DEVICE_ID, decode_session_bytes(wr.encode_session(session), sid))
        count = len(steps)
    return count


def measure(store: Store, fmt: Any) -> tuple[float, int]:
    """Mean ms per session end to end, total bytes."""
    summaries = store.sessions()
    total_bytes = 0
    start = time.perf_counter()
    for summary in summaries:
        total_bytes += len(export_session(store, summary, fmt).data)
    return (time.perf_counter() - start) * 1000 / len(summaries), total_bytes


def encode_only(store: Store, count: int) -> float:
    """Mean ms of the FIT encoding alone (the timelines built beforehand)."""
    timelines = []
    for summary in store.sessions(limit=count):
        timelines.append(build_timeline(store, summary, session_report(store, summary)))
    start = time.perf_counter()
    for timeline in timelines:
        fit_activity(timeline)
    return (time.perf_counter() - start) * 1000 / len(timelines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--label", default="idle", help="idle, busy, ... (a key in the results)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        steps = fill(store, args.sessions)
        fit_ms, fit_bytes = measure(store, "fit")
        encode_ms = encode_only(store, min(200, args.sessions))
        tcx_ms, tcx_bytes = measure(store, "tcx")
        store.close()
    n_steps = steps * args.sessions
    fit_ok = "meets" if fit_ms < GOAL_MS_PER_SESSION else "MISSES"
    tcx_ok = "meets" if tcx_ms < GOAL_MS_PER_SESSION else "MISSES"
    print(f"{args.sessions} sessions x {steps} steps (~1 h each, 1 Hz records), {args.label}")
    print(f"FIT: {fit_ms:.2f} ms/session (goal < {GOAL_MS_PER_SESSION:.0f} ms: {fit_ok}), ")
    print(f"     of which encoding {encode_ms:.2f} ms; {fit_bytes / n_steps:.0f} bytes/step")
    print(f"TCX: {tcx_ms:.2f} ms/session (goal < {GOAL_MS_PER_SESSION:.0f} ms: {tcx_ok}), ")
    print(f"     {tcx_bytes / n_steps:.0f} bytes/step")
    summary = {
        "label": args.label,
        "sessions": args.sessions,
        "steps_per_session": steps,
        "ms_per_session": round(fit_ms, 2),
        "goal_ms_per_session": GOAL_MS_PER_SESSION,
        "fit_encode_ms": round(encode_ms, 2),
        "fit_bytes_per_step": round(fit_bytes / n_steps, 1),
        "tcx_ms_per_session": round(tcx_ms, 2),
        "tcx_bytes_per_step": round(tcx_bytes / n_steps, 1),
        "cpus": os.cpu_count(),
    }
    runs: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            runs = json.loads(RESULTS.read_text()).get("runs", {})
        except (ValueError, AttributeError):
            runs = {}
    runs[args.label] = summary
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, "runs": runs}) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
