"""`repcue sync`: pull finished sessions into the store, print them, and with --mqtt
publish them to a broker (after the store's commit; sync/publish.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from repcue.cli.argtypes import add_db_argument, add_device_argument
from repcue.cli.device_cmd import add_retries_argument, run_resumable, run_sync
from repcue.cli.history_cmd import session_line
from repcue.cli.live_cmd import add_mqtt_arguments
from repcue.errors import BrokerError
from repcue.link.resume import ClientSource, ReconnectPolicy
from repcue.store import open_store
from repcue.store.analysis import session_report
from repcue.sync import SyncResult
from repcue.sync.publish import PublishResult, publish_sessions


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync_p = sub.add_parser("sync", help="pull finished sessions into the local store")
    add_device_argument(sync_p)
    add_db_argument(sync_p)
    add_retries_argument(sync_p)
    sync_p.add_argument("--json", action="store_true", help="print one JSON object")
    add_mqtt_arguments(
        sync_p,
        "then publish the device's sessions no broker has acknowledged yet to this MQTT broker",
        "whose sessions",
    )
    sync_p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    if args.mqtt and not args.athlete:  # a usage error, as argparse's (exit 2)
        Console(stderr=True, highlight=False).print(
            "error: --mqtt needs --athlete NAME (the topics are per athlete)"
        )
        return 2
    return run_resumable(args, _sync)


async def _sync(
    args: argparse.Namespace, device: ClientSource, policy: ReconnectPolicy, out: Console
) -> int:
    result = await run_sync(device, args.db, out, policy)
    published = None
    if args.mqtt:  # the sessions are committed (and acked) by now: the broker comes second
        with open_store(args.db) as store:
            published = await publish_sessions(
                store, result.device_id, args.mqtt, args.athlete, ca_file=args.mqtt_ca
            )
    with open_store(args.db, read_only=True) as store:
        added = [store.session(row) for row in result.added_rows]
        reports = [session_report(store, s) for s in added if s is not None]
    code = 1 if result.failed else 0
    if published is not None and published.error is not None and not code:
        code = BrokerError.exit_code
    if args.json:
        _print_json(_json(result, reports, published))
        return code
    for report in reports:
        out.print(session_line(report), markup=False, highlight=False, soft_wrap=True)
    count = len(result.added)
    out.print(
        f"{count} new session{'' if count == 1 else 's'}, {result.bytes_read} bytes read"
        + (" (`repcue show ROW` for a session's steps)" if count else "")
        + (f", {len(result.incomplete)} still recording" if result.incomplete else "")
    )
    for failure in result.failed:
        out.print(
            "[yellow]left on the device for the next sync:[/yellow] "
            f"session {failure.session_id}: {escape(failure.message)}"
        )
    if published is not None:
        _say_published(args, published, out)
    return code


def _say_published(args: argparse.Namespace, published: PublishResult, out: Console) -> None:
    where = f"{args.mqtt.where} as {args.athlete}"
    n = len(published.published)
    if not n and published.error is None:  # the broker was not even asked
        out.print(f"nothing to publish to {where}: a broker has every session", markup=False)
    elif n:
        out.print(f"published {n} session{'' if n == 1 else 's'} to {where}", markup=False)
    if published.error is not None:
        pending = len(published.pending)
        Console(stderr=True, highlight=False).print(
            f"error: {published.error}: {pending} session{'' if pending == 1 else 's'} not "
            "published (stored here; the next `repcue sync --mqtt` publishes them)",
            markup=False,
            soft_wrap=True,
        )


def _json(
    result: SyncResult, reports: list[dict[str, Any]], published: PublishResult | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "device_id": result.device_id,
        "added": list(result.added),
        "acked": list(result.acked),
        "incomplete": list(result.incomplete),
        "already_stored": list(result.already_stored),
        "failed": [{"session_id": f.session_id, "message": f.message} for f in result.failed],
        "bytes_read": result.bytes_read,
        "sessions": reports,
    }
    if published is not None:
        out["mqtt"] = {
            "published": published.published,
            "pending": published.pending,
            "error": None if published.error is None else str(published.error),
        }
    return out


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
