"""The fleet part of bench/live.py (a module, not a bench of its own): many athletes'
bridges into one broker and one dashboard.

A real session is recorded once (a virtual device at x120 with the autopilot runner, followed
as `repcue live` follows it), then every simulated athlete replays it at running pace from its
own point in the session, publishing what a bridge publishes (each object on `event`, then
the retained `state` snapshot) through aiomqtt. The publishers run in a few processes of
their own so that the dashboard, not the Python clients, is what is measured.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from repcue.live.mqtt import BrokerUrl, topic
from repcue.live.snapshot import Snapshot


@dataclass(frozen=True)
class Recording:
    """A session's live objects, each with its device time from the session's start."""

    objects: list[tuple[int, dict[str, Any]]]  # (ms since the first object, object)
    program: bytes

    @property
    def duration_ms(self) -> int:
        return self.objects[-1][0]


@dataclass(frozen=True)
class Published:
    athlete: str
    seq: int
    wall_ms: float  # this machine's clock just before the publish


def _now(recorded: dict[str, Any], device_id: str) -> dict[str, Any]:
    """A recorded object as this athlete's bridge would publish it now."""
    obj = dict(recorded, wall=datetime.now(UTC).isoformat(timespec="milliseconds"))
    obj["device_ms"] = None
    if obj["event"] == "attached":
        obj["device_id"] = device_id
    return obj


def _athletes(count: int, workers: int) -> list[list[int]]:
    return [list(range(w, count, workers)) for w in range(workers)]


async def _replay_one(
    broker: BrokerUrl,
    number: int,
    recording: Recording,
    offset_ms: int,
    window_s: float,
    t0: float,
    out: list[Published],
) -> None:
    athlete, device_id = f"athlete{number:03d}", f"fleet{number:06x}"
    snapshot = Snapshot(athlete)
    snapshot.set_program(recording.program)
    pending = []
    for t_ms, obj in recording.objects:
        if t_ms < offset_ms:
            snapshot.apply(_now(obj, device_id))  # what a bridge running since then knows
        elif t_ms - offset_ms <= window_s * 1000:
            pending.append((t_ms - offset_ms, obj))
    state_topic = topic(athlete, device_id, "state")
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=f"repcue-{athlete}-{device_id}",
    ) as client:
        await client.publish(state_topic, json.dumps(snapshot.build()), qos=1, retain=True)
        await _publish_window(client, snapshot, pending, device_id, t0, out)


async def _publish_window(
    client: aiomqtt.Client,
    snapshot: Snapshot,
    pending: list[tuple[int, dict[str, Any]]],
    device_id: str,
    t0: float,
    out: list[Published],
) -> None:
    """Each object at its time: on `event`, then the state it leads to, as a bridge does."""
    athlete = snapshot.athlete
    event_topic = topic(athlete, device_id, "event")
    state_topic = topic(athlete, device_id, "state")
    for due_ms, recorded in pending:
        await asyncio.sleep(max(0.0, t0 + due_ms / 1000 - time.monotonic()))
        obj = _now(recorded, device_id)
        wall_ms = time.time() * 1000
        await client.publish(event_topic, json.dumps(obj), qos=1)
        snapshot.apply(obj)
        await client.publish(state_topic, json.dumps(snapshot.build()), qos=1, retain=True)
        if obj["seq"] is not None:
            out.append(Published(athlete, int(obj["seq"]), wall_ms))


async def _worker_main(
    url: str, numbers: list[int], recording: Recording, window_s: float, start_at: float, seed: int
) -> list[Published]:
    broker = BrokerUrl.parse(url)
    rng = random.Random(seed)
    out: list[Published] = []
    # each replay connects first, then waits for the common start
    t0 = time.monotonic() + max(0.0, start_at - time.time())
    span_ms = max(1, recording.duration_ms - int(window_s * 1000))
    await asyncio.gather(
        *(
            _replay_one(broker, n, recording, rng.randrange(span_ms), window_s, t0, out)
            for n in numbers
        )
    )
    return out


def _worker(args: tuple[str, list[int], Recording, float, float, int]) -> list[Published]:
    return asyncio.run(_worker_main(*args))


def run_fleet(
    url: str, athletes: int, recording: Recording, window_s: float, workers: int = 4
) -> list[Published]:
    """Replays `athletes` sessions for window_s through `workers` processes; what each
    published and when."""
    start_at = time.time() + 5.0  # every worker started and connected before anyone publishes
    jobs = [
        (url, numbers, recording, window_s, start_at, seed)
        for seed, numbers in enumerate(_athletes(athletes, workers))
    ]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.map(_worker, jobs)
    return [p for batch in results for p in batch]
