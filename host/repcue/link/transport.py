"""The small async interface every link (serial, BLE, the virtual device) offers the client.

A transport only moves bytes: framing, sequence numbers and retries live in the client.
Transports built on blocking libraries hand bytes from their own thread to the event
loop through an Inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Protocol, runtime_checkable

from repcue.errors import DisconnectedError


@runtime_checkable
class Transport(Protocol):
    """A byte pipe to one device."""

    @property
    def description(self) -> str:
        """Where the bytes go, for messages (e.g. ``serial:/dev/ttyACM0``)."""
        ...

    @property
    def authenticated(self) -> bool:
        """Whether the bytes reach the device the user meant and nobody else's: a cable
        (serial, the virtual device's pty) is; a BLE link is once it has authenticated.
        Over a link that is not, nothing but HELLO may be sent (the client refuses)."""
        ...

    async def open(self) -> None:
        """Connect; raises TransportError (or a subclass) when that is impossible."""
        ...

    async def close(self) -> None:
        """Disconnect; safe to call twice."""
        ...

    async def send(self, data: bytes) -> None:
        """Write all of data; raises DisconnectedError if the link is gone."""
        ...

    async def receive(self) -> bytes:
        """The next bytes that arrived (at least one); raises DisconnectedError once the
        link is gone and everything before that was received."""
        ...


class Inbox:
    """Bytes and the end of the link, handed from any thread to one asyncio reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop, description: str) -> None:
        self._loop = loop
        self._description = description
        self._chunks: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._closed: BaseException | None = None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def put_threadsafe(self, data: bytes) -> None:
        self._loop.call_soon_threadsafe(self.put, data)

    def close_threadsafe(self, cause: BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
            self._loop.call_soon_threadsafe(self.close, cause)

    def put(self, data: bytes) -> None:
        if data and self._closed is None:
            self._chunks.append(data)
            self._ready.set()

    def close(self, cause: BaseException) -> None:
        if self._closed is None:
            self._closed = cause
            self._ready.set()

    async def get(self) -> bytes:
        while not self._chunks:
            if self._closed is not None:
                raise DisconnectedError(
                    f"{self._description}: link lost ({self._closed})"
                ) from self._closed
            self._ready.clear()
            await self._ready.wait()
        data = self._chunks.popleft()
        if self._chunks:
            # coalesce what piled up so the decoder works on bigger runs
            data += b"".join(self._chunks)
            self._chunks.clear()
        return data
