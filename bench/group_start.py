"""Group start accuracy: how close together N devices start a session scheduled for one instant.

N virtual devices (the real firmware in MicroPython's unix port, serial over a pty, the real
clock at speed 1) each get the program, then per run: SET_TIME with milliseconds from this
computer's clock (all N at once, as N bridges would), and START for one instant ~3 s ahead.
Each device turns the instant into a tick of its own millisecond clock and starts there; the
figure is the spread (latest minus earliest) of the instants the N sessions really started.

The common time base. The sim board's clock (firmware/repcue_fw/boards/sim/clock.py) is
time.ticks_us() of the unix port, which is CLOCK_MONOTONIC in microseconds (checked: it
falls between two readings of Python's time.monotonic_ns()); at speed 1 a board's virtual ms
since boot is (ticks_us() - t0_us) // 1000, and the board reports t0_us in its boot record.
The session's first cue record carries the tick it was due at (the start instant by the
device's clock) and how late it really played, in microseconds ("lus"). So the instant the
session really started, on this machine's CLOCK_MONOTONIC, is

    t0_us + (due - ticks_start) * 1000 + lus

for every device on one time base. What the figure holds: each device's SET_TIME error (the
request's transit from this computer's clock reading to the device's tick, different per
device and per run), the millisecond rounding of the clock and of the tick, and the device's
own wake-up lateness; not the host's sleeps (the host only sends two requests and waits).
It also prints the spread of the instants as the devices' clocks put them (the due tick,
before the wake-up), the SET_TIME round trips (each clock's error bound) and the wake-ups.
The N devices share this machine's cores: at the instant all N set their session up at
once, so on a 2-core machine the last waits for the others (a board has its own CPU).

Run idle, then again with a core kept busy by a spinning process (--busy-cores).

Usage: python bench/group_start.py [--devices 8] [--runs 20] [--ahead-s 3] [--busy-cores 1]
The last line printed is one JSON object; it is also written to bench/results/group_start.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repcue.link import DeviceClient  # noqa: E402
from repcue.link.serial import SerialTransport  # noqa: E402
from repcue.sim import VirtualDevice  # noqa: E402
from repcue.sim.control import ControlClient  # noqa: E402
from repcue.sim.options import SimOptions  # noqa: E402
from repcue_fw.wire.events import EV_SESSION_START  # noqa: E402
from repcue_fw.wire.host import program as wp  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "group_start.json"
GOAL_P99_MS = 20.0
PERIOD = 1 << 30  # the sim clock's tick period
PROGRAM = wp.encode(
    wp.Program([wp.Step(wp.KIND_WORK, wp.END_TIME, 60), wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 60)])
)


@dataclass(frozen=True)
class Run:
    spread_ms: float  # latest real start minus earliest
    clock_spread_ms: float  # the same of the instants as each device's clock put them (no wake-up)
    offsets_ms: list[float]  # each device's real start minus the instant (this host's clock)
    late_ms: list[float]  # of which the device's wake-up: its first cue after its own tick
    set_time_rtt_ms: list[float]  # SET_TIME's round trip: the bound on each clock's error


def wall_to_monotonic_us() -> float:
    """What to add to a time.time() reading (in us) to get CLOCK_MONOTONIC us: the tightest
    of a few paired readings."""
    best = None
    for _ in range(20):
        m0 = time.monotonic_ns()
        w = time.time_ns()
        m1 = time.monotonic_ns()
        if best is None or m1 - m0 < best[0]:
            best = (m1 - m0, (m0 + m1) / 2 - w)
    assert best is not None
    return best[1] / 1000


def real_start_us(ctl: ControlClient, mark: int, timeout_s: float) -> tuple[float, float]:
    """The instant (CLOCK_MONOTONIC us) the session started after record `mark` really
    began (its first cue played), and how late that cue was by the device's own clock (us)."""
    boot = ctl.boot
    if boot is None or "t0_us" not in boot:
        raise RuntimeError("the sim board did not report t0_us: firmware too old")
    # the session's own first cue: the one after its session_start event (a cue of the
    # last run's stop may still be on its way when the mark is taken)
    started = ctl.wait_event(EV_SESSION_START, timeout_s, start=mark)
    with ctl._lock:
        at = next(i for i in range(mark, len(ctl.records)) if ctl.records[i] is started)
    cue = ctl.wait_for(lambda r: r.get("k") == "cue" and "lus" in r, timeout_s, start=at)
    due_vms = (int(cue["due"]) - int(boot["ticks_start"])) % PERIOD
    return float(boot["t0_us"]) + due_vms * 1000 + float(cue["lus"]), float(cue["lus"])


async def _one_run(
    clients: list[DeviceClient], controls: list[ControlClient], ahead_s: float
) -> Run:
    marks = [len(ctl.records) for ctl in controls]
    for c in clients:  # one after another, as separate bridges would: each on its own
        await c.set_time()  # reads this computer's clock as the request goes out
    at_ms = round((time.time() + ahead_s) * 1000)
    await asyncio.gather(*(c.start(at_ms) for c in clients))
    shift_us = wall_to_monotonic_us()
    found = await asyncio.gather(
        *(
            asyncio.to_thread(real_start_us, ctl, mark, ahead_s + 10)
            for ctl, mark in zip(controls, marks, strict=True)
        )
    )
    await asyncio.gather(*(c.stop() for c in clients))
    instant_us = at_ms * 1000 + shift_us
    starts = [start for start, _ in found]
    dues = [start - late for start, late in found]
    return Run(
        spread_ms=(max(starts) - min(starts)) / 1000,
        clock_spread_ms=(max(dues) - min(dues)) / 1000,
        offsets_ms=[(s - instant_us) / 1000 for s in starts],
        late_ms=[late / 1000 for _, late in found],
        set_time_rtt_ms=[1000 * (c.clock_error_s or 0.0) for c in clients],
    )


async def _measure(devices: list[VirtualDevice], runs: int, ahead_s: float) -> list[Run]:
    clients = [DeviceClient(SerialTransport(d.pty_path), timeout_s=2.0) for d in devices]
    try:
        for c in clients:
            await c.open()
            async for _ in c.upload_program(PROGRAM):
                pass
        controls = [d.require_control() for d in devices]
        return [await _one_run(clients, controls, ahead_s) for _ in range(runs)]
    finally:
        for c in clients:
            await c.close()


def measure_runs(devices: int, runs: int, ahead_s: float = 3.0) -> list[Run]:
    """Start `devices` virtual devices and measure `runs` group starts (see the docstring)."""
    started: list[VirtualDevice] = []
    try:
        for i in range(devices):
            dev = VirtualDevice(SimOptions(clock="real", speed=1, device_id=f"9a0000{i:06x}"))
            dev.start()
            started.append(dev)
        return asyncio.run(_measure(started, runs, ahead_s))
    finally:
        for dev in started:
            dev.stop()


def measure_group_start_spread(devices: int, runs: int) -> list[float]:
    """The spread in ms (latest real start minus earliest, on the devices' own clocks
    mapped to one time base) of each of `runs` group starts of `devices` virtual devices."""
    return [run.spread_ms for run in measure_runs(devices, runs)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@contextlib.contextmanager
def busy_cores(n: int) -> Iterator[None]:
    """n processes spinning on a core each while the block runs (a laptop doing other work)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()


def _report(label: str, runs: list[Run]) -> dict[str, float]:
    spreads = [r.spread_ms for r in runs]
    offsets = [o for r in runs for o in r.offsets_ms]
    p50, p99, worst = percentile(spreads, 0.5), percentile(spreads, 0.99), max(spreads)
    clocks = [r.clock_spread_ms for r in runs]
    late = [x for r in runs for x in r.late_ms]
    rtts = [x for r in runs for x in r.set_time_rtt_ms]
    mean = statistics.mean(offsets)
    print(
        f"{label}: spread of the real starts p50 {p50:.2f} ms, p99 {p99:.2f} ms, max "
        f"{worst:.2f} ms (goal p99 <= {GOAL_P99_MS:g} ms)"
    )
    print(
        f"  each start against the instant by this computer's clock: mean {mean:+.2f} ms, "
        f"{min(offsets):+.2f} .. {max(offsets):+.2f} ms; of which wake-up late p99 "
        f"{percentile(late, 0.99):.2f} ms; SET_TIME round trip p50 {percentile(rtts, 0.5):.2f}"
        f" ms, p99 {percentile(rtts, 0.99):.2f} ms, max {max(rtts):.2f} ms"
    )
    print(
        f"  the instants by the devices' clocks alone (SET_TIME error, no wake-up): spread p50 "
        f"{percentile(clocks, 0.5):.2f} ms, p99 {percentile(clocks, 0.99):.2f} ms"
    )
    return {
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(worst, 3),
        "offset_mean_ms": round(mean, 3),
        "offset_max_ms": round(max(offsets), 3),
        "clock_spread_p50_ms": round(percentile(clocks, 0.5), 3),
        "clock_spread_p99_ms": round(percentile(clocks, 0.99), 3),
        "wake_late_p99_ms": round(percentile(late, 0.99), 3),
        "set_time_rtt_p99_ms": round(percentile(rtts, 0.99), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--ahead-s", type=float, default=3.0)
    parser.add_argument(
        "--busy-cores", type=int, default=1, help="then again with N cores kept busy (0: not)"
    )
    args = parser.parse_args()
    print(
        f"group start of {args.devices} virtual devices, {args.runs} runs each, the instant "
        f"{args.ahead_s:g} s ahead"
    )
    idle = _report("idle", measure_runs(args.devices, args.runs, args.ahead_s))
    result: dict[str, object] = {
        "group_start_spread_p99_ms": idle["p99_ms"],
        "group_start_goal_p99_ms": GOAL_P99_MS,
        "idle": idle,
    }
    if args.busy_cores:
        with busy_cores(args.busy_cores):
            runs = measure_runs(args.devices, args.runs, args.ahead_s)
        busy = _report(f"{args.busy_cores} core(s) busy", runs)
        result["group_start_spread_p99_ms_busy"] = busy["p99_ms"]
        result["busy"] = busy
    result.update(devices=args.devices, runs=args.runs, ahead_s=args.ahead_s)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
