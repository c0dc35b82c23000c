"""The coach's web app (Starlette): the page, its JSON API and a Server-Sent Events stream.

    GET  /              the page (static/, shipped in the package: no CDN at a track)
    GET  /api/athletes  the tiles (the latest state of each athlete's device, with "online")
    GET  /api/sessions  the finished sessions, once per uid, newest first
    GET  /api/stream    SSE: "hello" (the server's clock), then "state" per tile and
                        "session" per finished session, at once and on every change
    POST /api/start     {"in_s": 5} publishes a group start; answers {"id", "at_ms"}

With a password every request needs it: HTTP Basic (any user name), or `?token=PASSWORD`
once, which leaves a cookie (a phone opens the printed URL and is in).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from repcue.coach.board import Board, Change
from repcue.coach.feed import MAX_IN_S, CoachError

COOKIE = "repcue_coach"
HEARTBEAT_S = 15.0  # an SSE comment this often finds closed pages and keeps proxies open
QUEUE_LIMIT = 1000  # changes waiting for one slow page before it is dropped (it reconnects)
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/coach.css": ("coach.css", "text/css; charset=utf-8"),
    "/coach.js": ("coach.js", "text/javascript; charset=utf-8"),
}

Starter = Callable[[float], Awaitable[dict[str, Any]]]


class Listeners:
    """The open pages' queues: every change goes to each."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[Change | None]] = set()

    def publish(self, change: Change) -> None:
        for queue in list(self.queues):
            if queue.qsize() >= QUEUE_LIMIT:
                queue.put_nowait(None)  # too slow: close its stream, the page reconnects
                self.queues.discard(queue)
            else:
                queue.put_nowait(change)

    def close(self) -> None:
        """End every open stream (the server is stopping: a page reconnects by itself)."""
        for queue in self.queues:
            queue.put_nowait(None)
        self.queues.clear()


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class PasswordGate:
    """ASGI middleware: every request carries the password (Basic, ?token= or the cookie)."""

    def __init__(self, app: ASGIApp, password: str) -> None:
        self.app, self.password = app, password.encode()

    def _ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.password)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
        cookies = Request(scope).cookies
        basic = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                basic = base64.b64decode(auth[6:]).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                basic = None
        if self._ok(token):
            # into the cookie, and off the address bar (and the browser's history)
            redirect = Response(status_code=303, headers={"location": scope["path"]})
            redirect.set_cookie(
                COOKIE, token or "", httponly=True, samesite="strict", max_age=7 * 86400
            )
            await redirect(scope, receive, send)
            return
        if self._ok(cookies.get(COOKIE)) or self._ok(basic):
            await self.app(scope, receive, send)
            return
        refused = Response(
            "the coach's page needs its password\n",
            status_code=401,
            headers={"www-authenticate": 'Basic realm="repcue coach"'},
        )
        await refused(scope, receive, send)


def create_app(
    board: Board, listeners: Listeners, start: Starter, *, password: str | None = None
) -> ASGIApp:
    static = files("repcue.coach") / "static"

    async def page(request: Request) -> Response:
        name, media = _STATIC[request.url.path]
        return Response(
            (static / name).read_bytes(), media_type=media, headers={"cache-control": "no-cache"}
        )

    async def athletes(request: Request) -> Response:
        return JSONResponse(board.athletes())

    async def sessions(request: Request) -> Response:
        return JSONResponse(board.finished())

    async def stream(request: Request) -> Response:
        queue: asyncio.Queue[Change | None] = asyncio.Queue()
        listeners.queues.add(queue)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield _sse("hello", {"server_ms": time.time_ns() // 1_000_000})
                for tile in board.athletes():
                    yield _sse("state", tile)
                for session in reversed(board.finished()):
                    yield _sse("session", session)
                while True:
                    try:
                        change = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                    except TimeoutError:
                        yield b": alive\n\n"
                        continue
                    if change is None:
                        return
                    yield _sse(change.kind, change.data)
            finally:
                listeners.queues.discard(queue)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def start_now(request: Request) -> Response:
        body = await request.body()
        try:
            asked = json.loads(body) if body.strip() else {}
            in_s = float(asked.get("in_s", 5)) if isinstance(asked, dict) else None
        except (json.JSONDecodeError, TypeError, ValueError):
            in_s = None
        if in_s is None or not 0 < in_s <= MAX_IN_S:
            return JSONResponse(
                {"error": f'expected {{"in_s": SECONDS}}, 1-{MAX_IN_S:.0f} s'}, status_code=400
            )
        try:
            message = await start(in_s)
        except CoachError as err:
            return JSONResponse({"error": str(err)}, status_code=503)
        return JSONResponse({"id": message["id"], "at_ms": message["at_ms"]})

    app: ASGIApp = Starlette(
        routes=[
            *(Route(path, page) for path in _STATIC),
            Route("/api/athletes", athletes),
            Route("/api/sessions", sessions),
            Route("/api/stream", stream),
            Route("/api/start", start_now, methods=["POST"]),
        ]
    )
    if password:
        app = PasswordGate(app, password)
    return app
