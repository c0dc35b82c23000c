"""`repcue live`: follow the session on a device, as a terminal view or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from repcue.cli.argtypes import add_db_argument, add_device_argument
from repcue.cli.device_cmd import add_retries_argument, device_for
from repcue.cli.live_keys import HELP, Keys, reading_keys
from repcue.config import resolve_device_spec
from repcue.errors import PathError
from repcue.link.resume import ReconnectPolicy
from repcue.live import LiveState, follow_resumable
from repcue.live.group import OnGroupStart
from repcue.live.mqtt import BrokerUrl, LivePublisher, check_athlete
from repcue.live.view import render, summary
from repcue.paths import existing_file
from repcue.store import open_store
from repcue.store.analysis import PlannedStep, planned_steps

_MAX_STEPS = 10_000  # more than a device program unrolls to
MQTT_ENV = "REPCUE_MQTT"
FLUSH_S = 5.0  # at the end, how long queued events may wait for an absent broker
OnObject = Callable[[dict[str, Any]], None]
OnProgram = Callable[[bytes], None]
# follows the device, handing each object on (and the session's program, when a view wants it)
Follow = Callable[[OnObject, OnProgram | None], Awaitable[None]]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    live = sub.add_parser(
        "live",
        help="follow the session on the device live (Ctrl-C leaves it running)",
        description="Follow the session on the device until it ends: a live view, or with "
        "--json one event per line (docs/live.md). Ctrl-C leaves the device running.",
    )
    add_device_argument(live)
    add_db_argument(live)
    add_retries_argument(live)
    live.add_argument("--json", action="store_true", help="print one JSON event per line")
    add_mqtt_arguments(
        live,
        "also publish the events to this MQTT broker: mqtt://[USER[:PASSWORD]@]HOST[:PORT] "
        "or mqtts://...",
        "whose events",
    )
    live.add_argument(
        "--start", action="store_true", help="start the installed program once attached"
    )
    live.set_defaults(func=cmd_live)


def add_mqtt_arguments(parser: argparse.ArgumentParser, what: str, whose: str) -> None:
    """--mqtt URL (default $REPCUE_MQTT), --athlete NAME and --mqtt-ca FILE."""
    parser.add_argument(
        "--mqtt",
        type=broker_url,
        default=os.environ.get(MQTT_ENV) or None,
        metavar="URL",
        help=f"{what} (default: ${MQTT_ENV}; docs/live.md)",
    )
    parser.add_argument(
        "--athlete", type=athlete_name, metavar="NAME", help=f"{whose} (needed with --mqtt)"
    )
    add_mqtt_ca_argument(parser)


def add_mqtt_ca_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt-ca",
        type=_ca_file,
        metavar="FILE",
        help="the CA certificate (PEM) of an mqtts:// broker (default: this system's CAs)",
    )


def _ca_file(text: str) -> str:
    try:
        return str(existing_file(Path(text), "--mqtt-ca"))
    except PathError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def broker_url(text: str) -> BrokerUrl:
    try:
        return BrokerUrl.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def athlete_name(text: str) -> str:
    try:
        return check_athlete(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _program(db: str | None, program_id: int) -> bytes:
    """The installed program, if this computer's store has it (until the session's own
    record hands the view its program); b"" when not."""
    if not program_id:
        return b""
    with open_store(db, read_only=True) as store:
        record = store.program(program_id)
    return record.program_bytes if record else b""


def _plan(db: str | None, program_id: int) -> list[PlannedStep]:
    data = _program(db, program_id)
    return planned_steps(data, _MAX_STEPS) if data else []


def cmd_live(args: argparse.Namespace) -> int:
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    if args.mqtt and not args.athlete:  # a usage error, as argparse's (exit 2)
        err.print("error: --mqtt needs --athlete NAME (the topics are per athlete)")
        return 2
    spec = resolve_device_spec(args.device)

    def say(line: str) -> None:
        err.print(line, markup=False, soft_wrap=True)

    policy = ReconnectPolicy(retries=args.retries, notice=say)

    async def main() -> None:
        keys = Keys(say)

        def from_device(on_object: OnObject, on_program: OnProgram | None) -> Awaitable[None]:
            return follow_resumable(
                lambda: device_for(args, spec),
                on_object,
                start=args.start,
                policy=policy,
                on_client=keys.set_client,
                on_program=on_program,
            )

        publisher = None
        follow: Follow = from_device
        if args.mqtt:
            publisher = LivePublisher(
                args.mqtt,
                args.athlete,
                ca_file=args.mqtt_ca,
                notice=say,
                on_group_start=group_start_hook(keys),
            )
            follow = also_publishing(from_device, publisher, args.db)
        state = None
        async with publishing(publisher, say):
            with reading_keys(keys) as reading:
                if reading:
                    err.print(HELP)
                if args.json:
                    await follow(_print_line, None)
                else:
                    state = await _view(args, follow, out, publisher)
        if state is not None:  # after the publisher's last flush, so its row is final
            out.print(render(state, time.monotonic(), _mqtt_line(publisher)))
            out.print(summary(state), markup=False)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # the device goes on with its session; nothing was sent
        if not args.json:
            out.print("left the device running")
    return 0


def group_start_hook(keys: Keys) -> OnGroupStart:
    """What a bridge does with the coach's group start (valid, new, ahead: live/group.py):
    START on the device for that instant, by the device's own clock, on the connection
    live holds now."""

    def on_group_start(at_ms: int, start_id: str) -> None:
        keys.start_at(at_ms, f"group start {start_id[:8]}")

    return on_group_start


def also_publishing(follow: Follow, publisher: LivePublisher, db: str | None) -> Follow:
    """follow, handing every object and the session's program to the publisher as well
    (the state snapshot needs the plan also when nothing is drawn, as with --json)."""

    def both(on_object: OnObject, on_program: OnProgram | None) -> Awaitable[None]:
        def each(obj: dict[str, Any]) -> None:
            if obj["event"] == "attached" and obj["program_id"] and not publisher.snapshot.has_plan:
                record = _program(db, int(obj["program_id"], 16))
                if record:
                    publisher.set_program(record)
            publisher.put(obj)
            on_object(obj)

        def program(data: bytes) -> None:
            publisher.set_program(data)
            if on_program is not None:
                on_program(data)

        return follow(each, program)

    return both


@contextlib.asynccontextmanager
async def publishing(
    publisher: LivePublisher | None, notice: Callable[[str], None]
) -> AsyncIterator[None]:
    """The publisher's task while live runs; at the end what is queued goes out (for at
    most FLUSH_S while the broker is away), and what could not is said."""
    if publisher is None:
        yield
        return
    task = asyncio.create_task(publisher.run())
    try:
        yield
    finally:
        publisher.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, FLUSH_S)
        unsent = len(publisher.queue) + publisher.dropped
        if unsent:
            notice(f"MQTT: {unsent} events not published (the broker was away)")


def _print_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()  # a reader of the pipe sees each event as it happens


def _mqtt_line(publisher: LivePublisher | None) -> str | None:
    """The view's MQTT row: connected or not, and what waits for the broker."""
    if publisher is None:
        return None
    queued = f"{publisher.queued}" + (f", {publisher.dropped} dropped" if publisher.dropped else "")
    if publisher.connected:
        return f"{publisher.broker.where}: {publisher.published} sent, {queued} queued"
    return f"{publisher.broker.where} away: {queued} queued"


async def _view(
    args: argparse.Namespace, follow: Follow, out: Console, publisher: LivePublisher | None
) -> LiveState:
    """The live view until the session ends; the state it ended with."""
    state = LiveState()
    with Live(
        get_renderable=lambda: render(state, time.monotonic(), _mqtt_line(publisher)),
        console=out,
        refresh_per_second=4,
        transient=True,
    ) as live:

        def show(obj: dict[str, Any]) -> None:
            if obj["event"] == "attached" and obj["program_id"] and not state.plan:
                state.plan = _plan(args.db, int(obj["program_id"], 16))
            state.apply(obj, time.monotonic())
            live.refresh()

        def program(data: bytes) -> None:  # the session's own: true on any computer
            state.plan = planned_steps(data, _MAX_STEPS)
            live.refresh()

        await follow(show, program)
    return state
