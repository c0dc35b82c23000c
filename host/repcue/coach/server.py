"""The coach's dashboard as one coroutine: the MQTT feed and the page's server (uvicorn) on
a socket already bound, until uvicorn is told to stop (Ctrl-C, SIGTERM) or the task is
cancelled. `repcue coach` runs it; a demo or a bench can run it too."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Callable

import uvicorn

from repcue.coach.app import Listeners, create_app
from repcue.coach.board import Board
from repcue.coach.feed import Feed
from repcue.live.mqtt import BrokerUrl


def bind(listen: str, port: int) -> socket.socket:
    """The page's listening socket (port 0: any free one). Raises OSError."""
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, which first ends the pages' streams when it stops: they never end
    by themselves, and uvicorn would wait for them and then say it cancelled them."""

    def __init__(self, config: uvicorn.Config, end_streams: Callable[[], None]) -> None:
        super().__init__(config)
        self.end_streams = end_streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.end_streams()
        await super().shutdown(sockets)


def _notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def serve_dashboard(
    sock: socket.socket,
    broker: BrokerUrl,
    *,
    password: str | None = None,
    ca_file: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    board: Board | None = None,
) -> None:
    """Reads the athletes from `broker` and serves the page on `sock` (HTTPS with cert and
    key; every request asking `password` when one is given)."""
    board = board if board is not None else Board()
    listeners = Listeners()
    feed = Feed(broker, board, ca_file=ca_file, on_change=listeners.publish, notice=_notice)
    app = create_app(board, listeners, feed.start, password=password)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ssl_certfile=cert,
        ssl_keyfile=key,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config, listeners.close)
    task = asyncio.create_task(feed.run())
    try:
        await server.serve(sockets=[sock])
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
