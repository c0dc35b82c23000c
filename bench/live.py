"""Live at the track, measured: from a device's event to the coach's page, a fleet of athletes
into one dashboard, and a group start across devices.

Figures:
  event_p50_ms / event_p99_ms   one virtual device at real speed (real firmware, pty serial),
                    its bridge (`repcue live --mqtt`, a process of its own), Mosquitto and the
                    dashboard (`repcue coach --mqtt`, a process of its own): from the device's
                    event (its control-channel record, stamped on arrival at this machine: the
                    same instant the EVENT frame leaves) to an SSE client of the dashboard
                    receiving the tile it changed. Goal p99 <= 50 ms.
  fleet_p50_ms / fleet_p99_ms   200 athletes replaying a recorded session at running pace (each
                    object on `event`, then the retained `state`, as a bridge publishes them),
                    each its own MQTT connection, from 4 processes, into one broker and one
                    dashboard: from the state's publish to the SSE client. Goal p99 <= 100 ms.
  fleet_lost        states published and never shown by the dashboard. Goal 0.
  dashboard_cpu_frac the dashboard process's CPU time / wall time during the fleet run.
  group_start_spread_p99_ms  bench/group_start.py's runs: 8 virtual devices told to start at
                    one instant; the spread of the instant as each device's own clock put it
                    (mapped onto this machine's monotonic clock). Goal p99 <= 20 ms.
  group_start_played_spread_p99_ms  the same of the first cues as they really played: adds
                    each device's wake-up, on the 2 cores the 8 processes share here.

Usage: python bench/live.py [--athletes 200] [--window-s 60] [--part event|fleet|group]
The last line printed is one JSON object; it is also written to bench/results/live.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from tests.broker import Broker, mosquitto  # noqa: E402

from _live_fleet import Recording, run_fleet  # noqa: E402
from repcue.link.client import DeviceClient  # noqa: E402
from repcue.link.serial import SerialTransport  # noqa: E402
from repcue.live.events import EventMapper  # noqa: E402
from repcue.live.follow import follow  # noqa: E402
from repcue.plan import parse, program_bytes  # noqa: E402
from repcue.sim import VirtualDevice  # noqa: E402
from repcue.sim.options import AutopilotOptions, SimOptions  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "live.json"
GOAL_EVENT_P99_MS = 50
GOAL_FLEET_P99_MS = 100
GOAL_SPREAD_P99_MS = 20
RUNNER = AutopilotOptions(noise_frac=0.03, seed=5, pace_s_per_km=230, tire_frac=0.004)
# a track session: what the fleet replays (recorded at x120: about 15 s)
FLEET_PLAN = "name: 12x200\n10min wu\n12x(200m @3:30/km, 30s jog)\n5min cd\n"
# a short one at real speed, for the event latency: a change every 5 s
EVENT_PLAN = "name: strides\n6x(5s hard, 5s easy)\n"
USERS = {"coach": "coach-bench", "fleet": "fleet-bench", "solo": "solo-bench"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the dashboard, and a client of its stream ---------------------------------------------
@contextmanager
def dashboard(broker: Broker):  # type: ignore[no-untyped-def]
    port = _free_port()
    cmd = [sys.executable, "-m", "repcue", "coach", "--mqtt", broker.url("coach")]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/api/athletes", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the dashboard did not start") from None
                time.sleep(0.1)
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(10)


class StreamClient:
    """Reads the dashboard's SSE stream: each athlete's tiles as (seq, wall ms of arrival)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tiles: dict[str, list[tuple[int, float]]] = {}
        self.ready = asyncio.Event()

    def shown_ms(self, athlete: str, seq: int) -> float | None:
        """When the page first had a tile that includes event `seq`: a bridge coalesces the
        states of events that come together, so that is the first tile at seq or later."""
        return min((at for s, at in self.tiles.get(athlete, ()) if s >= seq), default=None)

    async def run(self) -> None:
        async with (
            httpx.AsyncClient(timeout=None) as http,
            http.stream("GET", f"{self.base}/api/stream") as response,
        ):
            self.ready.set()
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "state":
                    now_ms = time.time() * 1000
                    tile = json.loads(line[5:])
                    if tile.get("seq") is not None:
                        self.tiles.setdefault(tile["athlete"], []).append((tile["seq"], now_ms))


# -- a recorded session, for the fleet -----------------------------------------------------
async def record_session(plan_text: str, speed: int) -> Recording:
    """Runs the plan on a virtual device with the autopilot runner and keeps every live
    object with its time in the session (arrival x speed: the device's time)."""
    data = program_bytes(parse(plan_text))
    device = VirtualDevice(SimOptions(speed=speed, autopilot=RUNNER))
    await asyncio.to_thread(device.start)
    objects: list[tuple[int, dict[str, Any]]] = []
    try:
        async with DeviceClient(SerialTransport(device.pty_path)) as client:
            await client.set_time(int(time.time()))
            async for _ in client.upload_program(data):
                pass
            t0 = None
            async for obj in follow(client, EventMapper(), start=True):
                now = time.monotonic()
                t0 = now if t0 is None else t0
                objects.append((int((now - t0) * speed * 1000), obj))
    finally:
        await asyncio.to_thread(device.stop)
    return Recording(objects, data)


async def bench_fleet(broker: Broker, athletes: int, window_s: float) -> dict[str, Any]:
    recording = await record_session(FLEET_PLAN, speed=120)
    print(
        f"recorded: {len(recording.objects)} objects over {recording.duration_ms / 60000:.1f} min"
    )
    with dashboard(broker) as (proc, base):
        stream = StreamClient(base)
        reader = asyncio.create_task(stream.run())
        await asyncio.wait_for(stream.ready.wait(), 10)
        cpu0, wall0 = _cpu_s(proc.pid), time.monotonic()
        published = await asyncio.to_thread(
            run_fleet, broker.url("fleet"), athletes, recording, window_s
        )
        await asyncio.sleep(2.0)  # stragglers
        cpu_frac = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - wall0)
        reader.cancel()
    shown = [(stream.shown_ms(p.athlete, p.seq), p.wall_ms) for p in published]
    latencies = [at - sent for at, sent in shown if at is not None]
    lost = len(published) - len(latencies)
    print(
        f"fleet: {athletes} athletes, {len(published)} states in {window_s:.0f} s "
        f"({len(published) / window_s:.0f}/s), lost {lost} (goal 0)"
    )
    print(
        f"  publish -> dashboard SSE: p50 {_pct(latencies, 0.5):.1f} ms, "
        f"p99 {_pct(latencies, 0.99):.1f} ms (goal <= {GOAL_FLEET_P99_MS}), "
        f"max {max(latencies, default=float('nan')):.1f} ms; dashboard CPU {cpu_frac:.0%}"
    )
    return {
        "fleet_athletes": athletes,
        "fleet_states": len(published),
        "fleet_p50_ms": round(_pct(latencies, 0.5), 1),
        "fleet_p99_ms": round(_pct(latencies, 0.99), 1),
        "fleet_lost": lost,
        "dashboard_cpu_frac": round(cpu_frac, 3),
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one device, at real speed, through its bridge ------------------------------------------
async def bench_event(broker: Broker) -> dict[str, Any]:
    data = program_bytes(parse(EVENT_PLAN))
    device = VirtualDevice(SimOptions(speed=1, autopilot=RUNNER))
    await asyncio.to_thread(device.start)
    device_events: list[float] = []
    device.require_control().add_listener(
        lambda r: device_events.append(time.time() * 1000) if r.get("k") == "ev" else None
    )
    try:
        async with DeviceClient(SerialTransport(device.pty_path)) as client:
            await client.set_time(int(time.time()))
            async for _ in client.upload_program(data):
                pass
        with dashboard(broker) as (_, base):
            stream = StreamClient(base)
            reader = asyncio.create_task(stream.run())
            await asyncio.wait_for(stream.ready.wait(), 10)
            bridge = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "repcue",
                "live",
                "--device",
                f"serial:{device.pty_path}",
                "--json",
                "--start",
                "--mqtt",
                broker.url("solo"),
                "--athlete",
                "solo",
                stdout=subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(bridge.communicate(), 180)
            await asyncio.sleep(1.0)
            reader.cancel()
    finally:
        await asyncio.to_thread(device.stop)
    objects = [json.loads(line) for line in out.decode().splitlines()]
    seqs = [o["seq"] for o in objects if o["seq"] is not None]
    if len(seqs) != len(device_events):
        raise RuntimeError(f"{len(device_events)} device events but {len(seqs)} live objects")
    shown = [
        (stream.shown_ms("solo", seq), at_ms)
        for seq, at_ms in zip(seqs, device_events, strict=True)
    ]
    latencies = [at - sent for at, sent in shown if at is not None]
    print(
        f"event: {len(latencies)} of {len(seqs)} events, device -> dashboard SSE: "
        f"p50 {_pct(latencies, 0.5):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms "
        f"(goal <= {GOAL_EVENT_P99_MS}), max {max(latencies, default=float('nan')):.1f} ms"
    )
    return {
        "event_count": len(latencies),
        "event_missing": len(seqs) - len(latencies),
        "event_p50_ms": round(_pct(latencies, 0.5), 1),
        "event_p99_ms": round(_pct(latencies, 0.99), 1),
    }


def bench_group(devices: int, runs: int) -> dict[str, Any]:
    """bench/group_start.py's runs: the figure the goal is for is the spread of the instants
    by the devices' own clocks (each clock's SET_TIME error); beside it the spread of the
    first cues as they really played, which adds each process's wake-up on cores the
    devices share here (a board has its own)."""
    from group_start import measure_runs

    found = measure_runs(devices, runs)
    clocks = [r.clock_spread_ms for r in found]
    played = [r.spread_ms for r in found]
    p99 = _pct(clocks, 0.99)
    print(
        f"group start: {devices} devices x {runs} runs, spread by the devices' clocks p50 "
        f"{_pct(clocks, 0.5):.1f} ms, p99 {p99:.1f} ms (goal <= {GOAL_SPREAD_P99_MS}); "
        f"first cues as played p50 {_pct(played, 0.5):.1f} ms, p99 {_pct(played, 0.99):.1f} ms"
    )
    return {
        "group_start_devices": devices,
        "group_start_spread_p50_ms": round(_pct(clocks, 0.5), 1),
        "group_start_spread_p99_ms": round(p99, 1),
        "group_start_played_spread_p99_ms": round(_pct(played, 0.99), 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=200)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--group-devices", type=int, default=8)
    parser.add_argument("--group-runs", type=int, default=20)
    parser.add_argument("--part", choices=("event", "fleet", "group"), action="append")
    args = parser.parse_args()
    parts = args.part or ["event", "fleet", "group"]
    figures: dict[str, Any] = {"cores": os.cpu_count()}
    with (
        tempfile.TemporaryDirectory(prefix="repcue-bench-live-") as scratch,
        mosquitto(Path(scratch) / "broker", USERS) as broker,
    ):
        if "event" in parts:
            figures |= await bench_event(broker)
        if "fleet" in parts:
            figures |= await bench_fleet(broker, args.athletes, args.window_s)
    if "group" in parts:
        figures |= await asyncio.to_thread(bench_group, args.group_devices, args.group_runs)
    if set(parts) == {"event", "fleet", "group"}:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
