"""`repcue demo --group N`: a coach's group at the track, on N virtual devices, in under a
minute.

Each athlete's virtual device runs the real firmware behind its own pty with an autopilot
runner of its own pace (one slower than the target, one faster, the others near it). The
coach's private broker (Mosquitto when installed, else amqtt) takes one bridge per athlete,
run in this process as `repcue live --mqtt` runs it, and the coach's dashboard reads it (its
URL is printed: open it while the demo runs). The group start goes out as the dashboard's
button sends it; every bridge sets its device's clock and schedules START for that instant.
When every session has ended, each device is synced into one store and its session published
as `repcue sync --mqtt` does, so the dashboard lists them all; then a table per athlete.

The device clocks run `speed` times fast from the moment a bridge sets them, so the start's
lead is on their clocks: START_LEAD_S of this computer's time is speed x that on a device.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from repcue.cli.demo.table import clock_text, print_table
from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.cli.live_cmd import also_publishing, group_start_hook, publishing
from repcue.cli.live_keys import Keys
from repcue.coach.feed import MAX_IN_S
from repcue.coach.hub import Hub, private_hub
from repcue.coach.server import bind, serve_dashboard
from repcue.errors import RepcueError
from repcue.link.client import DeviceClient
from repcue.link.resume import ReconnectPolicy
from repcue.link.serial import SerialTransport
from repcue.live import follow_resumable
from repcue.live.mqtt import BrokerUrl, LivePublisher
from repcue.sim import autopilot
from repcue.sim.launcher import VirtualDevice
from repcue.sim.options import AutopilotOptions, SimOptions
from repcue.store import open_store
from repcue.store.analysis import session_report
from repcue.sync.publish import publish_sessions

GROUP_PLAN = """\
name: 5x400m group
1min wu
5x(400m @3:45/km, 60s jog)
1min cd
"""
GROUP_PLAN_S = 14 * 60 + 30  # on plan
GROUP_SPEED = 40  # the plan's 14:30 in about 22 s
# (name, pace factor: every rep this many times the target's time); the first two are the
# slow and the fast runner, whatever the group's size
RUNNERS = (
    ("Ana", 1.08),
    ("Ben", 0.92),
    ("Cleo", 1.01),
    ("Dev", 0.99),
    ("Eli", 1.04),
    ("Fay", 0.96),
    ("Gus", 1.02),
    ("Hana", 0.98),
)
MIN_GROUP, MAX_GROUP = 2, len(RUNNERS)
START_LEAD_S = 1.5  # this computer's time from the start's publication to the instant
READY_TIMEOUT_S = 30.0  # every bridge on the dashboard, subscribed to the group start
STARTED_TIMEOUT_S = 15.0  # past the instant, every device's session_start seen
SESSIONS_TIMEOUT_S = 15.0  # the synced sessions on the dashboard's list
HTTP_TIMEOUT_S = 5.0


def group_size(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not MIN_GROUP <= n <= MAX_GROUP:
        raise argparse.ArgumentTypeError(f"expected {MIN_GROUP}..{MAX_GROUP} athletes")
    return n


@dataclass
class Athlete:
    name: str
    pace_factor: float
    device: VirtualDevice
    notices: list[str] = field(default_factory=list)
    started_s: float | None = None  # this computer's monotonic clock at session_start
    ended: str | None = None  # "session_end" or "refused"


def start_in_s(speed: int) -> float:
    """The group start's lead as the coach's button takes it (seconds on the device clocks):
    START_LEAD_S of this computer's time at the devices' speed, within the button's bounds."""
    return max(1.0, min(MAX_IN_S, START_LEAD_S * speed))


def cmd_group(args: argparse.Namespace) -> int:
    out = Console(stderr=args.json, highlight=False)
    speed = GROUP_SPEED if args.speed is None else args.speed
    SimOptions(speed=speed).validate()  # before a broker and devices are started
    try:
        with (
            _signals_as_interrupt(),
            tempfile.TemporaryDirectory(prefix="repcue-demo-group-") as scratch,
        ):
            db = args.db or str(Path(scratch) / "group.db")
            result = _run(args.group, speed, db, out)
    except KeyboardInterrupt:
        out.print("stopped: the devices, the broker and the dashboard are shut down")
        return 130
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        print_table(out, result)
    return 0


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt wherever the demo is, as Python's own
    Ctrl-C does (asyncio.run handles SIGINT only where Python's handler is in place: not in
    a job started with SIGINT ignored; SIGTERM it does not handle at all). The finally
    blocks and asyncio.run's cancellation of what is left then stop every device, the
    broker and the dashboard."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(n: int, speed: int, db: str, out: Console) -> dict[str, Any]:
    """Devices, broker and everything after; all stopped on the way out (Ctrl-C too)."""
    users = {name: secrets.token_hex(8) for name, _ in RUNNERS[:n]}
    users["coach"] = secrets.token_hex(8)
    with contextlib.ExitStack() as stack:
        hub = stack.enter_context(private_hub("auto", "127.0.0.1", _free_port(), users))
        out.print(f"private broker ({hub.kind}) on {hub.host}:{hub.port}")
        athletes = []
        for i, (name, factor) in enumerate(RUNNERS[:n]):
            runner = AutopilotOptions(noise_frac=0.01, seed=11 + i, pace_factor=factor)
            device = VirtualDevice(SimOptions(speed=speed, autopilot=runner))
            stack.callback(device.stop)  # before start(): a half-started one is stopped too
            device.start()
            athletes.append(Athlete(name, factor, device))
            pace = f"{(factor - 1) * 100:+.0f} % on the target's time"
            out.print(f"{name}: virtual device {device.device_id} on {device.pty_path} ({pace})")
        sock = bind("127.0.0.1", 0)
        stack.callback(sock.close)
        return asyncio.run(_group(athletes, hub, sock, speed, db, out))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _device_client(device: VirtualDevice) -> Callable[[], DeviceClient]:
    return lambda: DeviceClient(SerialTransport(device.pty_path))


async def _group(
    athletes: list[Athlete], hub: Hub, sock: socket.socket, speed: int, db: str, out: Console
) -> dict[str, Any]:
    quiet = Console(quiet=True)  # the plan's table once per device would bury the rest
    for athlete in athletes:
        async with _device_client(athlete.device)() as client:
            plan = await upload_plan(
                client, GROUP_PLAN, "group", profile_path=None, fmt="repcue", db=db, out=quiet
            )
        autopilot.enable(athlete.device, athlete.device.options.autopilot)
    out.print(f"installed {plan.plan.name!r} on every device")
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    coach = BrokerUrl.parse(hub.url("coach"))
    dashboard = asyncio.create_task(serve_dashboard(sock, coach))
    bridges = [asyncio.create_task(_bridge(a, hub, db, out)) for a in athletes]
    body = asyncio.create_task(_conduct(athletes, bridges, base, speed, hub, db, out))
    try:
        await asyncio.wait({body, dashboard}, return_when=asyncio.FIRST_COMPLETED)
        if not body.done():
            failed = dashboard.exception() if not dashboard.cancelled() else None
            if failed is not None:
                raise RepcueError(f"the dashboard at {base}/ stopped: {failed}")
            # uvicorn takes SIGINT and SIGTERM while it serves and ends serve() on them
            # (then hands them on): the demo's Ctrl-C
            raise KeyboardInterrupt
        return body.result()
    finally:
        for task in (body, *bridges, dashboard):
            task.cancel()
        await asyncio.gather(body, *bridges, dashboard, return_exceptions=True)


async def _conduct(
    athletes: list[Athlete],
    bridges: list[asyncio.Task[None]],
    base: str,
    speed: int,
    hub: Hub,
    db: str,
    out: Console,
) -> dict[str, Any]:
    """The coach's part: wait for every bridge, press start, wait for the ends, sync."""
    out.print(
        f"the coach's dashboard: {base}/  (open it now: the run takes about 30 s)",
        soft_wrap=True,
    )
    await _until(
        lambda: _all_on_board(base, athletes),
        READY_TIMEOUT_S,
        "the athletes' bridges did not all reach the dashboard",
        bridges,
    )
    in_s = start_in_s(speed)
    start = await asyncio.to_thread(_http_json, f"{base}/api/start", {"in_s": in_s})
    at_ms = int(start["at_ms"])
    out.print(
        f"group start {str(start['id'])[:8]} for {clock_text(at_ms)} by the devices' clocks "
        f"({in_s:.0f} s ahead on them, {START_LEAD_S} s here at x{speed})"
    )
    await _until(
        lambda: all(a.started_s is not None for a in athletes),
        START_LEAD_S + STARTED_TIMEOUT_S,
        "not every device started at the group start",
        bridges,
        athletes,
    )
    starts = [a.started_s for a in athletes if a.started_s is not None]
    spread_ms = round((max(starts) - min(starts)) * 1000)
    out.print(
        f"all {len(athletes)} started; their session_start events arrived here "
        f"within {spread_ms} ms"
    )
    slowest_s = GROUP_PLAN_S * max(a.pace_factor for a in athletes) / speed
    await _wait_bridges(bridges, athletes, 3 * slowest_s + 30)
    reports = [await _sync(a, hub, db, out) for a in athletes]
    listed = await _until_sessions(base, len(athletes))
    out.print(f"the dashboard lists {listed} finished sessions")
    return {
        "sessions": reports,
        "group_start": {"id": start["id"], "at_ms": at_ms, "arrival_spread_ms": spread_ms},
        "dashboard": {"url": base + "/", "sessions_listed": listed},
    }


async def _bridge(athlete: Athlete, hub: Hub, db: str, out: Console) -> None:
    """One athlete's `repcue live --mqtt`, as live_cmd runs it (without a view)."""

    def say(line: str) -> None:
        athlete.notices.append(line)
        out.print(f"{athlete.name}: {line}", markup=False, soft_wrap=True)

    keys = Keys(say)
    publisher = LivePublisher(
        BrokerUrl.parse(hub.url(athlete.name)),
        athlete.name,
        notice=say,
        on_group_start=group_start_hook(keys),
    )

    def from_device(on_object: Any, on_program: Any) -> Any:
        return follow_resumable(
            _device_client(athlete.device),
            on_object,
            policy=ReconnectPolicy(notice=say),
            on_client=keys.set_client,
            on_program=on_program,
        )

    def seen(obj: dict[str, Any]) -> None:
        if obj["event"] == "session_start" and athlete.started_s is None:
            athlete.started_s = time.monotonic()
        elif obj["event"] in ("session_end", "refused"):
            athlete.ended = str(obj["event"])

    async with publishing(publisher, say):
        await also_publishing(from_device, publisher, db)(seen, None)


async def _wait_bridges(
    bridges: list[asyncio.Task[None]], athletes: list[Athlete], timeout_s: float
) -> None:
    done, pending = await asyncio.wait(bridges, timeout=timeout_s)
    for athlete, task in zip(athletes, bridges, strict=True):
        if task in done and task.exception() is not None:
            raise RepcueError(f"{athlete.name}'s bridge failed: {task.exception()}")
    if pending:
        late = [a.name for a, t in zip(athletes, bridges, strict=True) if t in pending]
        raise RepcueError(f"sessions not ended after {timeout_s:.0f} s: {', '.join(late)}")


async def _sync(athlete: Athlete, hub: Hub, db: str, out: Console) -> dict[str, Any]:
    """`repcue sync --mqtt` for one device: into the store, then to the broker."""
    result = await run_sync(_device_client(athlete.device), db, out)
    if not result.added_rows:
        raise RepcueError(f"{athlete.name}'s session did not reach the store")
    with open_store(db) as store:
        published = await publish_sessions(
            store, result.device_id, BrokerUrl.parse(hub.url(athlete.name)), athlete.name
        )
        if published.error is not None:
            raise RepcueError(f"{athlete.name}'s session not published: {published.error}")
        summary = store.session(result.added_rows[-1])
        if summary is None:
            raise RepcueError(f"{athlete.name}'s session vanished from the store")
        return {"athlete": athlete.name, **session_report(store, summary)}


def _http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return json.load(response)
    except OSError as err:
        raise RepcueError(f"the dashboard at {url}: {err}") from err


def _all_on_board(base: str, athletes: list[Athlete]) -> bool:
    """Every athlete has a tile: its bridge published a state, which it does only after
    subscribing to the group start (live/mqtt.py)."""
    tiles = _http_json(f"{base}/api/athletes")
    return {t["athlete"] for t in tiles} >= {a.name for a in athletes}


async def _until(
    ready: Callable[[], bool],
    timeout_s: float,
    what: str,
    bridges: list[asyncio.Task[None]],
    athletes: list[Athlete] | None = None,
) -> None:
    """Poll ready() (in a thread: it may do HTTP) until true; a bridge that ended early
    or the timeout is an error saying what was waited for."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(ready):
        for task in bridges:
            if task.done() and task.exception() is not None:
                raise RepcueError(f"{what}: a bridge failed: {task.exception()}")
        if time.monotonic() > deadline:
            said = ""
            if athletes:
                silent = [a for a in athletes if a.started_s is None]
                said = "; ".join(
                    f"{a.name}: {a.notices[-1] if a.notices else 'no word'}" for a in silent
                )
            raise RepcueError(f"{what} within {timeout_s:.0f} s" + (f" ({said})" if said else ""))
        await asyncio.sleep(0.1)


async def _until_sessions(base: str, n: int) -> int:
    def listed() -> bool:
        return len(_http_json(f"{base}/api/sessions")) >= n

    await _until(listed, SESSIONS_TIMEOUT_S, f"the dashboard did not list {n} sessions", [])
    return len(await asyncio.to_thread(_http_json, f"{base}/api/sessions"))
