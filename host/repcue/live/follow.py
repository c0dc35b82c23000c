"""Follow one session on a device: INFO, SUBSCRIBE, optionally START, then every event as a
schema object until the session ends; follow_resumable() does it again over a fresh link
after a drop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from repcue.link.client import DeviceClient
from repcue.link.messages import SessionEntry
from repcue.link.resume import ClientFactory, ReconnectPolicy, with_reconnect
from repcue.live.events import EventMapper
from repcue.live.refill import Refill, read_record
from repcue_fw.wire.host.records import StoredSession

# what ends a live session: the device's finish, or a start it refused
ENDS = ("session_end", "refused")


async def follow(
    client: DeviceClient,
    mapper: EventMapper,
    *,
    start: bool = False,
    on_program: Callable[[bytes], None] | None = None,
    refill: Refill | None = None,
    after_drop: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """ "attached" first (the device's state at once, from INFO and the running session's
    record), then the session's events (gaps included) up to and including its end.
    on_program gets the program the session runs, from the session's own record (so a
    view knows the plan on a computer that never saw the upload). With a refill, a gap
    is filled in from the session's record where it can be (refill.py); after_drop: this
    link follows a dropped one, so a link gap comes first and, when a session was
    followed and none runs now, the stream ends after what the record gives back.
    Closing the client mid-way leaves the session running on the device."""
    refill = refill if refill is not None else Refill()
    info = await client.device_info()
    # subscribed before the record is read: nothing falls between the two (a live copy of
    # what the record gives back is dropped), and before START, so its session_start is seen
    await client.subscribe_events(True)
    running = await read_record(client, None) if info.running else None
    gap = mapper.link_gap() if after_drop else None
    attached = mapper.attached(info, _where(running))
    filled = await refill.after_link(client, mapper, gap, running) if gap is not None else []
    if gap is not None:
        yield gap
    else:
        refill.attached(attached)
    yield attached
    if running and running[1] and running[1].program and on_program is not None:
        on_program(bytes(running[1].program))
    for obj in filled:
        yield obj
        if obj["event"] in ENDS and not info.running:
            return  # (when one runs, it began after this end: its record follows)
    if after_drop and not info.running and refill.session_id is not None:
        return  # the session ended while the link was down (its record is gone, or it
        # never got to record its end)
    if start:
        await client.start()
    async for event in client.events():
        objs = mapper.map(event)
        if objs[0]["event"] == "gap":
            objs[1:1] = await refill.after_seq(client, mapper, objs[0], objs[-1])
        for obj in objs:
            if not refill.observe(obj):
                continue
            yield obj
            if obj["event"] in ENDS:
                return
            if obj["event"] == "session_start" and on_program is not None:
                # the journal wrote the session's HEADER and PROGRAM before this event
                begun = (await read_record(client, None))[1]
                if begun and begun.program:
                    on_program(bytes(begun.program))


def _where(
    running: tuple[SessionEntry | None, StoredSession | None] | None,
) -> tuple[int, int | None] | None:
    """(session id, the step it is in) of the open record; the step None when the record
    does not decode (yet)."""
    if running is None or running[0] is None:
        return None
    session = running[1]
    return running[0].session_id, None if session is None else len(session.steps)


async def follow_resumable(
    open_client: ClientFactory,
    on_object: Callable[[dict[str, Any]], None],
    *,
    start: bool = False,
    policy: ReconnectPolicy | None = None,
    on_client: Callable[[DeviceClient | None], None] | None = None,
    on_program: Callable[[bytes], None] | None = None,
) -> None:
    """follow(), again over a fresh client after each link loss as the policy allows: a
    "gap" (why "link") marks each loss, then a fresh "attached", then what the session's
    record gives back of the time between; a session that ended while the link was down
    ends it there. on_client gets each connection's client (for
    commands while it runs), and None when it is gone; on_program as in follow()."""
    mapper, refill = EventMapper(), Refill()
    connections = 0

    async def attempt(client: DeviceClient) -> None:
        nonlocal connections
        connections += 1
        if on_client is not None:
            on_client(client)
        try:
            first = connections == 1
            async for obj in follow(
                client,
                mapper,
                start=start and first,
                on_program=on_program,
                refill=refill,
                after_drop=not first,
            ):
                on_object(obj)
        finally:
            if on_client is not None:
                on_client(None)

    await with_reconnect(open_client, attempt, policy=policy)
