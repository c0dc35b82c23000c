"""`repcue live`: follow the session on a device, as a terminal view or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from rich.console import Console
from rich.live import Live

from repcue.cli.argtypes import add_db_argument, add_device_argument
from repcue.cli.device_cmd import device_for
from repcue.cli.spinner import spinner
from repcue.config import resolve_device_spec
from repcue.link.client import DeviceClient
from repcue.live import EventMapper, LiveState, follow
from repcue.live.view import render, summary
from repcue.store import open_store
from repcue.store.analysis import PlannedStep, planned_steps

_MAX_STEPS = 10_000  # more than a device program unrolls to


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    live = sub.add_parser(
        "live",
        help="follow the session on the device live (Ctrl-C leaves it running)",
        description="Follow the session on the device until it ends: a live view, or with "
        "--json one event per line (docs/live.md). Ctrl-C leaves the device running.",
    )
    add_device_argument(live)
    add_db_argument(live)
    live.add_argument("--json", action="store_true", help="print one JSON event per line")
    live.add_argument(
        "--start", action="store_true", help="start the installed program once attached"
    )
    live.set_defaults(func=cmd_live)


def _plan(db: str | None, program_id: int) -> list[PlannedStep]:
    """The installed program's steps, if this computer's store has the program."""
    if not program_id:
        return []
    with open_store(db, read_only=True) as store:
        record = store.program(program_id)
    return planned_steps(record.program_bytes, _MAX_STEPS) if record else []


def cmd_live(args: argparse.Namespace) -> int:
    spec = resolve_device_spec(args.device)
    out = Console(highlight=False)

    async def main() -> None:
        client = device_for(args, spec)
        with spinner(f"waiting for {spec} ..."):
            await client.open()
        try:
            with spinner(f"waiting for {spec} to answer ..."):
                await client.hello()
            await (_json(args, client) if args.json else _view(args, client, out))
        finally:
            await client.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # the device goes on with its session; nothing was sent
        if not args.json:
            out.print("left the device running")
    return 0


async def _json(args: argparse.Namespace, client: DeviceClient) -> None:
    async for obj in follow(client, EventMapper(), start=args.start):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()  # a reader of the pipe sees each event as it happens


async def _view(args: argparse.Namespace, client: DeviceClient, out: Console) -> None:
    state = LiveState()
    with Live(
        get_renderable=lambda: render(state, time.monotonic()),
        console=out,
        refresh_per_second=4,
        transient=True,
    ) as live:
        async for obj in follow(client, EventMapper(), start=args.start):
            if obj["event"] == "attached" and obj["program_id"]:
                state.plan = _plan(args.db, int(obj["program_id"], 16))
            state.apply(obj, time.monotonic())
            live.refresh()
    out.print(render(state, time.monotonic()))
    out.print(summary(state), markup=False)
