"""`repcue coach`: the coach's web page of the group (reads MQTT), and `repcue coach start`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from repcue.cli.argtypes import seconds, whole_number
from repcue.cli.live_cmd import MQTT_ENV, broker_url
from repcue.coach.acl import COACH_USER
from repcue.coach.feed import CoachError, publish_start
from repcue.coach.hub import KINDS, Hub, private_hub, reachable_host
from repcue.errors import PathError
from repcue.live.mqtt import BrokerUrl, check_athlete

DEFAULT_PORT = 8080
DEFAULT_BROKER_PORT = 1883
LOCAL = ("127.0.0.1", "localhost", "::1")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    coach = sub.add_parser(
        "coach",
        help="the coach's web page: every athlete live, finished sessions, a group start",
        description="Serve the coach's page (phone or laptop) of every athlete that "
        "`repcue live --mqtt` publishes. With --mqtt it reads that broker; without, this "
        "computer is the hub: it starts a private broker (Mosquitto) and prints what the "
        "athletes' bridges connect with. Listens on 127.0.0.1 unless --listen; beyond "
        "localhost the page and the broker need a password (generated if not given).",
    )
    coach.add_argument("--mqtt", type=broker_url, metavar="URL", help="read this broker")
    coach.add_argument("--mqtt-ca", metavar="FILE", help="the CA certificate of an mqtts:// broker")
    coach.add_argument(
        "--listen", default="127.0.0.1", metavar="ADDR", help="address to serve on (127.0.0.1)"
    )
    coach.add_argument(
        "--port",
        type=whole_number(1),
        default=DEFAULT_PORT,
        help=f"the page's port ({DEFAULT_PORT})",
    )
    coach.add_argument(
        "--broker-port",
        type=whole_number(1),
        default=DEFAULT_BROKER_PORT,
        help=f"the private broker's port, without --mqtt ({DEFAULT_BROKER_PORT})",
    )
    coach.add_argument(
        "--hub",
        choices=KINDS,
        default="auto",
        help="the private broker, without --mqtt: Mosquitto if installed, else amqtt (auto)",
    )
    coach.add_argument(
        "--password", metavar="P", help="the page's (and the coach's broker) password"
    )
    coach.add_argument(
        "--cert", metavar="FILE", help="TLS certificate (PEM) for the page and broker"
    )
    coach.add_argument("--key", metavar="FILE", help="its private key (PEM)")
    coach.add_argument(
        "--athlete",
        dest="athletes",
        action="append",
        type=_hub_athlete,
        default=[],
        metavar="NAME",
        help="an athlete the private broker lets in (repeat; each gets a password)",
    )
    coach.set_defaults(func=cmd_coach)
    what = coach.add_subparsers(dest="coach_command", metavar="[start]")
    start = what.add_parser(
        "start",
        help="publish a group start: every bridge starts its device at that instant",
        description="Publish a group start on repcue/v1/_group/start: every `repcue live "
        "--mqtt` bridge starts its device at that wall-clock instant, by the device's clock.",
    )
    start.add_argument(
        "--mqtt",
        type=broker_url,
        default=os.environ.get(MQTT_ENV) or None,
        metavar="URL",
        help=f"the broker, as the coach user (default: ${MQTT_ENV})",
    )
    start.add_argument("--mqtt-ca", metavar="FILE", help="the CA certificate of an mqtts:// broker")
    start.add_argument(
        "--in-s", type=seconds, default=5.0, metavar="S", help="seconds from now (5)"
    )
    start.add_argument("--json", action="store_true", help="print the message sent, as JSON")
    start.set_defaults(func=cmd_start)


def _hub_athlete(text: str) -> str:
    try:
        name = check_athlete(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if name.startswith("_"):  # "_group" is the coach's own topic level
        raise argparse.ArgumentTypeError(f"athlete {name!r}: a name may not start with '_'")
    return name


def cmd_start(args: argparse.Namespace) -> int:
    if args.mqtt is None:
        raise CoachError(f"repcue coach start needs --mqtt URL (or ${MQTT_ENV})")
    message = asyncio.run(publish_start(args.mqtt, args.in_s, ca_file=args.mqtt_ca))
    if args.json:
        print(json.dumps(message), flush=True)
        return 0
    at = datetime.fromtimestamp(message["at_ms"] / 1000).strftime("%H:%M:%S.%f")[:-3]
    print(
        f"group start {message['id'][:8]}: every device starts at {at} (in {args.in_s:g} s)",
        flush=True,
    )
    return 0


def _check_files(args: argparse.Namespace) -> None:
    if bool(args.cert) != bool(args.key):
        raise CoachError("TLS needs both --cert FILE and --key FILE")
    for path in (args.cert, args.key, args.mqtt_ca):
        if path and not Path(path).is_file():
            raise PathError(f"{path}: no such file", path=path)


def cmd_coach(args: argparse.Namespace) -> int:
    _check_files(args)
    password = args.password
    generated = False
    if password is None and args.listen not in LOCAL:
        # beyond localhost anyone on the track's Wi-Fi could press the group start
        password, generated = secrets.token_urlsafe(12), True
    # the page's socket first: a port in use is said before anything starts
    with _page_socket(args.listen, args.port) as sock, _broker(args, password) as (feed_url, hub):
        _print_welcome(args, password, generated, hub)
        asyncio.run(_serve(args, sock, feed_url, password))
    return 0


@contextlib.contextmanager
def _page_socket(listen: str, port: int) -> Iterator[socket.socket]:
    from repcue.coach.server import bind  # uvicorn and Starlette: only when serving

    try:
        sock = bind(listen, port)
    except OSError as err:
        raise CoachError(
            f"the page cannot listen on {listen}:{port}: {err.strerror or err} (--port N)"
        ) from None
    with sock:
        yield sock


@contextlib.contextmanager
def _broker(
    args: argparse.Namespace, password: str | None
) -> Iterator[tuple[BrokerUrl, Hub | None]]:
    if args.mqtt is not None:
        yield args.mqtt, None
        return
    users = {name: secrets.token_urlsafe(9) for name in args.athletes}
    users[COACH_USER] = password or secrets.token_urlsafe(12)
    with private_hub(
        args.hub, args.listen, args.broker_port, users, cert=args.cert, key=args.key
    ) as hub:
        # the dashboard itself connects over loopback (the broker's certificate names the host)
        local = "127.0.0.1" if args.listen in ("0.0.0.0", "") else args.listen
        yield BrokerUrl(local, hub.port, hub.tls, COACH_USER, users[COACH_USER]), hub


def _print_welcome(
    args: argparse.Namespace, password: str | None, generated: bool, hub: Hub | None
) -> None:
    scheme = "https" if args.cert else "http"
    host = reachable_host(args.listen)
    page = f"{scheme}://{host}:{args.port}/"
    lines = [f"coach's page: {page}" + (f"?token={quote(password, safe='')}" if password else "")]
    if password:
        lines.append(
            f"  password: {password}"
            + (" (generated; give --password to choose)" if generated else "")
        )
    if hub is not None:
        ca = f" --mqtt-ca {args.cert}" if hub.tls else ""
        what = "mosquitto" if hub.kind == "mosquitto" else "amqtt, in this process"
        lines.append(f"private broker ({what}): {hub.host}:{hub.port}; the athletes' bridges:")
        athletes = [u for u in hub.users if u != COACH_USER]
        for name in athletes:
            lines.append(f"  repcue live --mqtt {hub.url(name)}{ca} --athlete {name}")
        if not athletes:
            lines.append("  (none let in: name them with --athlete NAME, one password each)")
        lines.append(
            f"group start from a shell: repcue coach start --mqtt {hub.url(COACH_USER)}{ca}"
        )
    else:
        lines.append(f"reading the broker at {args.mqtt.host}:{args.mqtt.port}")
    lines.append("Ctrl-C stops")
    print("\n".join(lines), flush=True)


async def _serve(
    args: argparse.Namespace, sock: socket.socket, broker: BrokerUrl, password: str | None
) -> None:
    # the private broker's certificate is the page's: the feed trusts it
    from repcue.coach.server import serve_dashboard

    ca_file = args.mqtt_ca or (args.cert if args.mqtt is None and args.cert else None)
    await serve_dashboard(
        sock, broker, password=password, ca_file=ca_file, cert=args.cert, key=args.key
    )
