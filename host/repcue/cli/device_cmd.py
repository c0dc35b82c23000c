"""Commands that talk to a device: devices, info, time sync, upload, start, stop (sync is
in sync_cmd.py, its run here)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from repcue.cli.argtypes import (
    add_db_argument,
    add_device_argument,
    start_instant,
    whole_number,
)
from repcue.cli.plan_cmd import (
    PLAN_HELP,
    fit_plan_text,
    read_source,
    render_report,
)
from repcue.cli.spinner import spinner
from repcue.config import resolve_device_spec
from repcue.devices import nearby, open_device
from repcue.errors import TransportError
from repcue.link.client import DeviceClient
from repcue.link.messages import SessionEntry
from repcue.link.resume import DEFAULT_RETRIES, ClientSource, ReconnectPolicy, upload_resumable
from repcue.link.serial import find_boards
from repcue.plan import FORMATS, Format, Plan, check, load_profile
from repcue.plan.report import PlanReport, build_report
from repcue.store import check_store_path, open_store, store_for_writing
from repcue.sync import SyncProgress, SyncResult
from repcue.sync.resume import sync_resumable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devices = sub.add_parser(
        "devices", help="list serial boards, running virtual devices and nearby BLE devices"
    )
    devices.add_argument("--json", action="store_true", help="print one JSON object")
    devices.add_argument(
        "--scan-s",
        "--timeout",
        dest="scan_s",
        type=float,
        default=2.0,
        metavar="S",
        help="how long to scan for BLE devices when a radio is reachable (0: no scan)",
    )
    devices.set_defaults(func=cmd_devices)

    info = sub.add_parser("info", help="what the device reports about itself")
    add_device_argument(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=lambda a: _run(a, _info))

    time_p = sub.add_parser("time", help="the device's clock")
    time_sub = time_p.add_subparsers(dest="time_command", required=True, metavar="COMMAND")
    time_sync = time_sub.add_parser("sync", help="set the device clock to this computer's")
    add_device_argument(time_sync)
    time_sync.set_defaults(func=lambda a: _run(a, _time_sync))

    upload = sub.add_parser("upload", help="compile a plan and install it on the device")
    upload.add_argument("plan", metavar="PLAN", help=PLAN_HELP)
    upload.add_argument("--profile", type=Path, metavar="FILE", help="athlete profile (TOML)")
    upload.add_argument("--format", choices=FORMATS, default="auto", help="plan format")
    add_device_argument(upload)
    add_db_argument(upload)
    add_retries_argument(upload)
    upload.set_defaults(func=lambda a: run_resumable(a, _upload))

    start = sub.add_parser("start", help="press start on the device, now or at an instant")
    add_device_argument(start)
    start.add_argument(
        "--at",
        type=start_instant,
        metavar="WHEN",
        help="start at this instant by the device's own clock (set from this computer's "
        "first): +SECONDS, an ISO date and time, or a time of day; at most 10 min ahead",
    )
    start.set_defaults(func=lambda a: _run(a, _start))
    stop = sub.add_parser("stop", help="stop and save (or cancel a scheduled start)")
    add_device_argument(stop)
    stop.set_defaults(func=lambda a: _run(a, _stop))


def add_retries_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retries",
        type=whole_number(0),
        default=DEFAULT_RETRIES,
        metavar="N",
        help=f"reconnect and resume up to N times when the link drops (default {DEFAULT_RETRIES}"
        "; 0: never)",
    )


Action = Callable[[argparse.Namespace, DeviceClient, Console], Awaitable[int]]
ResumableAction = Callable[
    [argparse.Namespace, ClientSource, ReconnectPolicy, Console], Awaitable[int]
]


def _run(args: argparse.Namespace, action: Action) -> int:
    """Open the device the arguments name, run one action against it, close it. Finding
    the device and its first answer wait under a spinner."""
    spec = resolve_device_spec(args.device)

    async def main() -> int:
        client = device_for(args, spec)
        with spinner(f"waiting for {spec} ..."):
            await client.open()
        try:
            with spinner(f"waiting for {spec} to answer ..."):
                await client.hello()
            return await action(args, client, Console(highlight=False))
        finally:
            await client.close()

    return asyncio.run(main())


def device_for(args: argparse.Namespace, spec: str) -> DeviceClient:
    """The client for --device/--timeout; a line on stderr says which device ble:auto took."""
    err = Console(stderr=True, highlight=False)
    return open_device(
        spec,
        wait_s=args.timeout,
        notice=lambda line: err.print(line, markup=False, soft_wrap=True),
    )


def run_resumable(args: argparse.Namespace, action: ResumableAction) -> int:
    """Run an action that opens the device itself, again after each link loss; each
    reconnect is one line on stderr."""
    spec = resolve_device_spec(args.device)
    check_store_path(args.db)  # a typo in --db found before the device is touched
    err = Console(stderr=True, highlight=False)
    policy = ReconnectPolicy(
        retries=args.retries, notice=lambda line: err.print(line, markup=False, soft_wrap=True)
    )

    async def main() -> int:
        return await action(args, lambda: device_for(args, spec), policy, Console(highlight=False))

    return asyncio.run(main())


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def cmd_devices(args: argparse.Namespace) -> int:
    from repcue.sim.registry import list_running

    with spinner("looking for devices ..."):
        boards = find_boards()
        sims = list_running()
        try:
            found = (nearby(args.scan_s) if args.scan_s > 0 else None) or []
        except TransportError as err:  # a stack that fails: say so, and list the rest
            Console(stderr=True, highlight=False).print(
                f"warning: no BLE scan: {err}", markup=False, soft_wrap=True
            )
            found = []
    if args.json:
        _print_json(
            {
                "serial": [{"port": b.device, "description": b.description} for b in boards],
                "sim": [
                    {"port": s.pty_path, "device_id": s.device_id, "pid": s.pid, "flash": s.flash}
                    for s in sims
                ],
                "ble": [
                    {"name": d.name, "address": d.address, "rssi": d.rssi, "paired": d.paired}
                    for d in found
                ],
            }
        )
        return 0
    out = Console(highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("device", "kind", "about"):
        table.add_column(column)
    for b in boards:
        table.add_row(f"serial:{b.device}", "serial", b.description)
    for s in sims:
        table.add_row(
            f"serial:{s.pty_path}", "virtual", f"{s.device_id}, pid {s.pid}, flash {s.flash or '-'}"
        )
    for d in found:
        paired = "paired" if d.paired else "not paired (repcue pair over USB first)"
        table.add_row(f"ble:{d.name or d.address}", "ble", f"{d.address}, {d.rssi} dBm, {paired}")
    if not boards and not sims and not found:
        out.print("no devices found (plug in a board, or start one with `repcue sim serve`)")
        return 0
    out.print(table)
    return 0


def _sessions_table(sessions: list[SessionEntry]) -> Table:
    table = Table(title="sessions on the device")
    for column in ("session", "bytes", "state", "acknowledged"):
        table.add_column(column, justify="right" if column in ("session", "bytes") else "left")
    for e in sessions:
        state = "complete" if e.complete else "recording or cut short"
        acked = "yes: synced, the device may delete it" if e.acknowledged else "no: not synced"
        table.add_row(str(e.session_id), str(e.size_bytes), state, acked)
    return table


async def _info(args: argparse.Namespace, client: DeviceClient, out: Console) -> int:
    # a device not paired with this computer, over BLE, tells only its HELLO
    info = await client.device_info() if client.authenticated else await client.hello()
    fields: dict[str, Any] = {
        "authenticated": client.authenticated,
        "device_id": info.device_id,
        "name": info.name,
        "board": info.board,
        "firmware_version": info.firmware_version,
        "protocol_version": info.protocol_version,
        "max_frame": info.max_frame,
        "free_heap": info.free_heap,
        "free_flash": info.free_flash,
        "clock_s": info.clock_s,
        "program_id": f"{info.program_id:08x}" if info.program_id else None,
        "running": info.running,
    }
    # what is on the device's flash, and what a host has acked (the device may reclaim it)
    sessions = await client.list_sessions() if client.authenticated else []
    if args.json:
        fields["sessions"] = [dataclasses.asdict(entry) for entry in sessions]
        _print_json(fields)
        return 0
    table = Table(show_header=False, show_edge=False, pad_edge=False)
    for key, value in {**fields, "clock_s": _clock_text(info.clock_s)}.items():
        table.add_row("clock" if key == "clock_s" else key, "-" if value is None else str(value))
    out.print(table)
    if sessions:
        out.print(_sessions_table(sessions))
    if not client.authenticated:
        out.print(
            "not paired with this computer: only what the device tells anyone before "
            "authentication (pair it over USB: repcue pair --device serial:PORT)"
        )
    return 0


async def _time_sync(args: argparse.Namespace, client: DeviceClient, out: Console) -> int:
    before = await client.set_time()  # to the millisecond, read as the request goes out
    drift = f"{int(time.time()) - before:+d} s" if before else "was not set"
    out.print(f"device clock set to {time.strftime('%Y-%m-%d %H:%M:%S')} ({drift})")
    return 0


async def upload_plan(
    device: ClientSource,
    text: str,
    name: str,
    *,
    profile_path: Path | None,
    fmt: Format,
    db: str | None,
    out: Console,
    policy: ReconnectPolicy | None = None,
    plan: Plan | None = None,
) -> PlanReport:
    """Check, upload and remember one plan. A bad plan never leaves the host: check()
    raises PlanError before a byte is sent. Given a client factory, a dropped link is
    reconnected and the upload resumed as the policy allows. A `plan` read already (a FIT
    workout) is uploaded as it is and remembered with its intervals.icu text."""
    profile = load_profile(profile_path)
    if plan is None:
        report = check(text, fmt=fmt, profile=profile, name=name)
    else:
        report = build_report(plan, profile)
        text = fit_plan_text(plan, profile)
    connections = 0

    async def on_connect(client: DeviceClient) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:  # the report once the device answers, as every command does
            render_report(out, report)
        await client.set_time()

    with progress_bar(out, "upload") as bar:
        task = bar.add_task("upload", total=len(report.program))
        info = await upload_resumable(
            device,
            report.program,
            policy=policy,
            on_progress=lambda sent: bar.update(task, completed=sent),
            on_connect=on_connect,
        )
    with open_store(db) as store:
        store.upsert_device(
            info.device_id, name=info.name, board=info.board, firmware_version=info.firmware_version
        )
        seed = report.seeds[0] if report.seeds else None
        store.add_program(report.program, plan_name=report.plan.name, plan_text=text, seed=seed)
    out.print(f"installed program {report.program_id:08x} on {info.name} ({info.device_id})")
    return report


async def _upload(
    args: argparse.Namespace, device: ClientSource, policy: ReconnectPolicy, out: Console
) -> int:
    text, name, fit_plan = read_source(args.plan)
    await upload_plan(
        device,
        text,
        name,
        plan=fit_plan,
        profile_path=args.profile,
        fmt=args.format,
        db=args.db,
        out=out,
        policy=policy,
    )
    return 0


def _clock_text(clock_s: int) -> str:
    """The device's wall clock as a person reads it, and how far it is from this computer's."""
    if not clock_s:
        return "not set (`repcue time sync` sets it)"
    drift_s = clock_s - time.time()
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(clock_s))
    return when if abs(drift_s) < 2 else f"{when} ({drift_s:+.0f} s from this computer)"


async def _start(args: argparse.Namespace, client: DeviceClient, out: Console) -> int:
    if args.at is None:
        session_id = await client.start()
        out.print(f"session {session_id} started")
        return 0
    await client.set_time()  # the device waits on its own clock: set it from this one first
    await client.start(args.at)
    when = datetime.datetime.fromtimestamp(args.at / 1000).strftime("%H:%M:%S.%f")[:-3]
    out.print(
        f"start scheduled at {when} (in {args.at / 1000 - time.time():.1f} s) by the device's "
        "clock; `repcue stop` cancels it"
    )
    return 0


async def _stop(args: argparse.Namespace, client: DeviceClient, out: Console) -> int:
    await client.stop()
    out.print("session stopped and saved (or a scheduled start cancelled)")
    return 0


async def run_sync(
    device: ClientSource, db: str | None, out: Console, policy: ReconnectPolicy | None = None
) -> SyncResult:
    """Sync with a progress bar; the store is opened and closed here. Given a client
    factory, a dropped link is reconnected and the sync run again as the policy allows."""
    with store_for_writing(db) as store, progress_bar(out, "sync") as bar:
        task = bar.add_task("sync", total=None)

        def progress(p: SyncProgress) -> None:
            # a sync learns its total as it goes: show bytes, not a false end
            bar.update(task, completed=p.bytes_done, total=None)

        return await sync_resumable(device, store, policy=policy, on_progress=progress)


def progress_bar(out: Console, what: str) -> Progress:
    return Progress(
        TextColumn(what),
        BarColumn(),
        DownloadColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )
