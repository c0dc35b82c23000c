"""What the coach's tests share: state snapshots as a bridge publishes them (docs/live.md,
schema v1), an MQTT publisher standing in for the bridges, and `repcue coach` run as the
real command in a process of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt

from repcue.live.mqtt import BrokerUrl


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def snapshot(
    athlete: str,
    device_id: str,
    *,
    status: str = "running",
    kind: str | None = "work",
    rep: int | None = 1,
    reps: int | None = 6,
    ends_in_s: float | None = 60.0,
    last_rep: dict[str, Any] | None = None,
    seq: int = 1,
    target_pace: float | None = 225.0,
) -> dict[str, Any]:
    """A `state` snapshot: `ends_in_s` from now (None: a distance step)."""
    now = datetime.now(UTC)
    step = None
    if kind is not None:
        step = {
            "index": 2 * (rep or 1),
            "kind": kind,
            "rep": rep,
            "reps": reps,
            "duration_ms": None if ends_in_s is None else 90_000,
            "distance_m": 800 if ends_in_s is None else None,
            "target_pace_s_per_km": target_pace,
            "started_wall": iso(now),
            "ends_wall": None if ends_in_s is None else iso(now + timedelta(seconds=ends_in_s)),
        }
    return {
        "v": 1,
        "athlete": athlete,
        "device_id": device_id,
        "name": f"repcue-{device_id[-4:]}",
        "wall": iso(now),
        "seq": seq,
        "status": status,
        "plan_name": "6x800m @5k",
        "session_id": 3,
        "step": step,
        "next": {"kind": "recovery", "duration_ms": 90_000, "distance_m": None},
        "last_rep": last_rep,
        "reps_done": 0 if last_rep is None else last_rep["rep"],
        "elapsed_ms": 612_000,
    }


def session(athlete: str, device_id: str, session_id: int = 3) -> dict[str, Any]:
    """A finished session as the `session` topic carries it (`show --json` + uid, athlete)."""
    return {
        "uid": f"{device_id}-{session_id}",
        "athlete": athlete,
        "session": {
            "row_id": 1,
            "start": "2026-12-05T13:17:22Z",
            "plan": "6x800m @5k",
            "duration_ms": 2_530_000,
            "reps_done": 6,
            "reps_planned": 6,
            "device": f"repcue-{device_id[-4:]}",
            "device_id": device_id,
            "session_id": session_id,
            "end_reason": "finished",
        },
        "steps": [],
        "fade": None,
    }


def topic(athlete: str, device_id: str, leaf: str) -> str:
    return f"repcue/v1/{athlete}/{device_id}/{leaf}"


async def publish(url: str, *messages: tuple[str, bytes | dict[str, Any], bool]) -> None:
    """Publishes (topic, payload, retain) in order, QoS 1, as a bridge would."""
    broker = BrokerUrl.parse(url)
    async with aiomqtt.Client(
        broker.host, broker.port, username=broker.username, password=broker.password
    ) as client:
        for name, payload, retain in messages:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(name, data, qos=1, retain=retain)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Coach:
    proc: subprocess.Popen[str]
    port: int
    printed: list[str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def run_coach(*args: str, port: int | None = None, scheme: str = "http") -> Iterator[Coach]:
    """`repcue coach ARGS --port PORT` until the block ends (Ctrl-C, as a user stops it)."""
    port = port or free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "coach", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops"):
                break
        else:
            raise AssertionError(f"repcue coach ended: {printed}")
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, printed
                assert time.monotonic() < deadline, f"the page never listened: {printed}"
                time.sleep(0.05)
        yield Coach(proc, port, printed)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
