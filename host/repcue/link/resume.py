"""Reconnect-and-resume: run a device operation again over a fresh client after a link loss.

    policy = ReconnectPolicy(retries=3, notice=print)
    info = await upload_resumable(lambda: open_device(spec), program, policy=policy)

Only a lost link is retried: a DisconnectedError that no refusal caused, and, while
reconnecting, a link that cannot be opened yet (a port not back, a device not advertising).
Everything else (a refusal, a bad key, a version mismatch, a device error, a timeout) is
raised at once, as is a link that cannot be opened at the first try. Each attempt opens a
new client from the factory, so a BLE link authenticates again with a fresh session. When
the retries run out, the command fails with the link's loss (DisconnectedError, exit code
4), whether the last try lost the link again or could not open it at all.

The operation makes the resume: an upload asks the device for its offset (PROGRAM_BEGIN
with the same length and program id answers where the device's buffer ends); a sync runs again
from the store's cursor (repcue.sync.resume).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from repcue.errors import DisconnectedError, ProtocolError, TransportError
from repcue.link.client import DeviceClient
from repcue.link.messages import DeviceInfo

T = TypeVar("T")

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = (0.2, 0.5, 1.0)  # before reconnect 1, 2, 3; the last repeats

ClientFactory = Callable[[], DeviceClient]  # a client not yet opened
# a factory to reconnect with, or a client the caller holds open (used once: nothing to
# reconnect with, and the caller closes it)
ClientSource = ClientFactory | DeviceClient
Notice = Callable[[str], None]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How often and how fast to reconnect; `notice` gets one line per reconnect."""

    retries: int = DEFAULT_RETRIES
    backoff_s: Sequence[float] = DEFAULT_BACKOFF_S
    notice: Notice | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, not {self.retries}")

    def wait_s(self, reconnect: int) -> float:
        """The pause before the given reconnect (1-based)."""
        if not self.backoff_s:
            return 0.0
        return self.backoff_s[min(reconnect, len(self.backoff_s)) - 1]


def is_link_loss(err: BaseException) -> bool:
    """A dropped link that a new connection may fix: not a device's refusal.

    Over BLE a device that refuses a record hangs up; the DisconnectedError then carries
    the refusal (a ProtocolError) in its cause chain, and that is not retried.
    """
    if not isinstance(err, DisconnectedError):
        return False
    cause = err.__cause__
    seen = 0
    while cause is not None and seen < 16:
        if isinstance(cause, ProtocolError):
            return False
        cause, seen = cause.__cause__, seen + 1
    return True


async def with_reconnect(
    open_client: ClientSource,
    operation: Callable[[DeviceClient], Awaitable[T]],
    *,
    policy: ReconnectPolicy | None = None,
    where: Callable[[], str] = lambda: "",
) -> T:
    """operation(client) over a fresh client, again after each link loss (see the module
    docstring). where() is called once per retried loss and says how far the operation
    got, for the notice (" at 4/9 bytes")."""
    if isinstance(open_client, DeviceClient):
        return await operation(open_client)
    policy = policy or ReconnectPolicy()
    reconnects = 0
    while True:
        opened = False
        try:
            async with open_client() as client:
                opened = True
                return await operation(client)
        except TransportError as err:
            # once opened, only a loss is retried; a failed open only while reconnecting
            # (the port or the device is not back yet)
            retry = is_link_loss(err) if opened else reconnects > 0
            if not retry:
                raise
            if reconnects >= policy.retries:
                if opened:
                    raise
                # the link's loss is what failed the command, not the port that is not
                # back (which would say "no such port", exit code 10, of a port just used)
                raise DisconnectedError(
                    f"link lost; reconnecting failed {reconnects} times, last: {err}"
                ) from err
            reason = "link lost" + where() if opened else f"cannot reconnect yet ({err})"
        reconnects += 1
        if policy.notice is not None:
            policy.notice(f"{reason}; reconnecting ({reconnects}/{policy.retries})")
        await asyncio.sleep(policy.wait_s(reconnects))


async def upload_resumable(
    open_client: ClientSource,
    program: bytes,
    *,
    policy: ReconnectPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_connect: Callable[[DeviceClient], Awaitable[object]] | None = None,
) -> DeviceInfo:
    """Upload and install program bytes, resuming at the device's offset after a drop.

    on_progress(bytes the device holds) continues across reconnects (the first figure of a
    new connection is where the device resumes); on_connect(client) runs after the
    handshake of every connection (e.g. to set the clock). Returns the device's INFO.
    """
    held = 0

    async def attempt(client: DeviceClient) -> DeviceInfo:
        nonlocal held
        info = await client.hello()
        if on_connect is not None:
            await on_connect(client)
        async for held in client.upload_program(program):
            if on_progress is not None:
                on_progress(held)
        return info

    return await with_reconnect(
        open_client, attempt, policy=policy, where=lambda: f" at {held}/{len(program)} bytes"
    )
