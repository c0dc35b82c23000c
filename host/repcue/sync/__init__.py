"""Exactly-once sync: pull every complete session the store lacks, commit it, then ACK it.

The order is the whole guarantee. A session is acknowledged (and so may be erased by the
device) only after the transaction holding it and all its steps has committed; a crash or a
dropped link anywhere leaves either nothing stored (the device still has it unacked, the next
run reads it again) or the session stored but unacked (the next run sees it again, checks
the copy matches, and only ACKs). The UNIQUE (device_id, session_id) key makes a second
insert of the same session impossible.

The device's sessions after the cursor come as one stream (DeviceClient.read_sessions:
READ_SESSIONS packs several whole sessions per frame), read ahead of the store; each one
goes through `_Run.handle`, and ACKs go out between the stream's frames.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from repcue.errors import AuthError, ProtocolError
from repcue.store import SessionData, StepData, Store
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wire_program
from repcue_fw.wire.host import records
from repcue_fw.wire.host.program import KIND_NAMES

ACK_BATCH = 32  # sessions acknowledged per ACK_SESSIONS request
READ_AHEAD = 64  # whole sessions the stream may hold that are not yet stored
# A device numbers its sessions one after another. One listed this far past the last id
# the store knows of the device is not believed (a device does not record 10,000 sessions
# between two syncs): it is left on the device, unstored and unacked, and the cursor stays,
# so a forged or corrupt id cannot make the store skip the real sessions after it.
MAX_SESSION_ID_JUMP = 10_000


class SessionEntryLike(Protocol):
    @property
    def session_id(self) -> int: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def complete(self) -> bool: ...


class DeviceInfoLike(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def board(self) -> str: ...
    @property
    def firmware_version(self) -> str: ...


class SyncClient(Protocol):
    """The part of repcue.link.client.DeviceClient that sync needs at the least."""

    @property
    def authenticated(self) -> bool: ...

    async def hello(self) -> DeviceInfoLike: ...
    def read_sessions(self, after_id: int = 0) -> AsyncIterator[tuple[SessionEntryLike, bytes]]: ...
    async def ack_sessions(self, ids: Sequence[int]) -> None: ...


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync is. It learns of each session as it arrives, so its totals grow with it
    and the end of a progress bar is not known."""

    device_id: str
    session_id: int  # the session being read or just stored
    sessions_done: int
    sessions_total: int  # complete sessions seen so far that need reading
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class SyncFailure:
    session_id: int
    message: str


@dataclass(frozen=True)
class SyncResult:
    device_id: str
    added: tuple[int, ...]  # device session ids stored by this run
    added_rows: tuple[int, ...]  # their store row ids (what `repcue show` takes)
    already_stored: tuple[int, ...]  # stored earlier but their ACK was lost; acked now
    acked: tuple[int, ...]
    incomplete: tuple[int, ...]  # still being recorded on the device; next sync
    failed: tuple[SyncFailure, ...]  # left on the device, unacked, for a later sync
    bytes_read: int


ProgressCallback = Callable[[SyncProgress], None]


def _name(names: Sequence[str], code: object) -> str:
    """A record's enum code as the store's text; an unknown code is kept, not refused."""
    if isinstance(code, str):
        return code
    if isinstance(code, int) and 0 <= code < len(names):
        return names[code]
    return f"unknown:{code}"


def decode_session_bytes(raw: bytes, session_id: int) -> SessionData:
    """The one adapter between the device's record format (repcue_fw.wire.host.records, shared
    with the firmware) and the store's typed rows. Raises ProtocolError on bad bytes."""
    try:
        wire = records.decode_session(raw)
    except WireError as err:
        raise ProtocolError(
            f"session {session_id}: {err.message} (byte {err.offset}, field {err.field})"
        ) from err
    if wire.session_id != session_id:
        raise ProtocolError(f"asked for session {session_id}, the device sent {wire.session_id}")
    total_ms = int(wire.total_ms)
    end_reason = wire.end_reason
    if end_reason is None:
        # Listed as complete but no END record: the power went during recording. The steps
        # that were written are the session; their active time is all we know of its length.
        end_reason = records.END_POWER_LOST
        total_ms = sum(int(st.elapsed_ms) for st in wire.steps)
    steps = tuple(
        StepData(
            index=int(st.index),
            kind=_name(KIND_NAMES, st.kind),
            end_reason=_name(records.STEP_END_NAMES, st.end_reason),
            planned=int(st.planned),
            elapsed_ms=int(st.elapsed_ms),
            laps_ms=tuple(int(v) for v in st.laps_ms),
        )
        for st in wire.steps
    )
    return SessionData(
        session_id=session_id,
        program_id=int(wire.program_id),
        start_wall_s=int(wire.start_wall_s) or None,  # 0: the device did not know the time
        start_uptime_ms=int(wire.start_uptime_ms),
        total_ms=total_ms,
        paused_ms=int(wire.paused_ms),
        pauses=int(wire.pauses),
        late_max_ms=int(wire.late_max_ms),
        late_mean_ms=int(wire.late_mean_ms),
        end_reason=_name(records.SESSION_END_NAMES, end_reason),
        steps=steps,
        program=_checked_program(bytes(wire.program), int(wire.program_id)),
    )


def _checked_program(data: bytes, program_id: int) -> bytes:
    """The session's program if it decodes and is the one its header names, else b"": a
    bad program costs the session its plan, never the session."""
    if not data:
        return b""
    try:
        wire_program.decode(data)
    except WireError:
        return b""
    return data if wire_program.program_id(data) == program_id else b""


class _Run:
    """The state of one sync run; `sync()` below is the whole algorithm."""

    def __init__(
        self, client: SyncClient, store: Store, on_progress: ProgressCallback | None
    ) -> None:
        self.client = client
        self.store = store
        self.on_progress = on_progress
        self.device_id = ""
        self.added: list[int] = []
        self.added_rows: list[int] = []
        self.already: list[int] = []
        self.acked: list[int] = []
        self.incomplete: list[int] = []
        self.failed: list[SyncFailure] = []
        self.bytes_done = 0
        self.bytes_total = 0
        self.sessions_done = 0
        self.sessions_total = 0
        self.to_ack: list[int] = []
        # The cursor may only pass ids up to the first session left behind (unfinished or
        # undecodable), else that session would never be listed again.
        self.blocked = False
        self.cursor_candidate = 0
        self.cursor_saved = 0
        self.last_known_id = 0  # the highest id the store knew of the device at the start

    def progress(self, session_id: int) -> None:
        if self.on_progress is not None:
            self.on_progress(
                SyncProgress(
                    self.device_id,
                    session_id,
                    self.sessions_done,
                    self.sessions_total,
                    self.bytes_done,
                    self.bytes_total,
                )
            )

    def leave_behind(self, failure: SyncFailure | None, session_id: int) -> None:
        self.blocked = True
        if failure is None:
            self.incomplete.append(session_id)
        else:
            self.failed.append(failure)
            self.sessions_done += 1  # it was read; the progress total counted it
            self.progress(session_id)

    async def flush_acks(self) -> None:
        """ACK what is committed, note that it was acked, then move the cursor."""
        if self.to_ack:
            batch, self.to_ack = self.to_ack, []
            await self.client.ack_sessions(batch)
            self.acked.extend(batch)
            await asyncio.to_thread(self.store.mark_acked, self.device_id, batch)
        if self.cursor_candidate > self.cursor_saved:
            await asyncio.to_thread(
                self.store.set_sync_cursor, self.device_id, self.cursor_candidate
            )
            self.cursor_saved = self.cursor_candidate

    async def handle(self, entry: SessionEntryLike, raw: bytes) -> None:
        """Store and queue the ACK of one session the stream brought (its bytes: raw)."""
        sid = entry.session_id
        if sid > self.last_known_id + MAX_SESSION_ID_JUMP:
            self.leave_behind(
                SyncFailure(
                    sid,
                    f"session id {sid} is {sid - self.last_known_id:,} past the last one this "
                    f"store knows of the device ({self.last_known_id}): not believed, so not "
                    "stored and not acknowledged",
                ),
                sid,
            )
            return
        if not entry.complete:
            self.leave_behind(None, sid)
            return
        stored = self.store.session_by_device_id(self.device_id, sid)
        if stored is not None and stored.acked:
            # Stored, acked, and the device confirmed it (a journal that reclaims lazily
            # still lists it): nothing to store and nothing to send.
            self.sessions_total -= 1
            self.progress(sid)
            self.advance(sid)
            return
        if entry.size_bytes and len(raw) != entry.size_bytes:
            # A short read can end on a record boundary and decode as a power-cut session:
            # storing and acking it would lose the rest.
            self.leave_behind(
                SyncFailure(sid, f"read {len(raw)} bytes, the device listed {entry.size_bytes}"),
                sid,
            )
            return
        if stored is not None:
            # Stored but our ACK was lost. ACK only an identical copy, so a device whose
            # journal was wiped and reuses ids cannot erase a session we do not have.
            old_raw = self.store.session_raw(stored.row_id)
            if old_raw and old_raw != raw:
                self.leave_behind(
                    SyncFailure(sid, "differs from the stored session with the same id"), sid
                )
                return
            self.already.append(sid)
        else:
            try:
                session = decode_session_bytes(raw, sid)
            except ProtocolError as err:
                self.leave_behind(SyncFailure(sid, str(err)), sid)
                return
            # Commits (an fsync) off the event loop, so the link keeps reading meanwhile.
            row_id = await asyncio.to_thread(self.store.add_session, self.device_id, session, raw)
            if row_id is None:  # a concurrent sync stored it first
                self.already.append(sid)
            else:
                self.added.append(sid)
                self.added_rows.append(row_id)
        self.sessions_done += 1
        self.progress(sid)
        self.to_ack.append(sid)
        self.advance(sid)
        if len(self.to_ack) >= ACK_BATCH:
            await self.flush_acks()

    def advance(self, session_id: int) -> None:
        if not self.blocked:
            self.cursor_candidate = session_id

    def result(self) -> SyncResult:
        return SyncResult(
            self.device_id,
            tuple(self.added),
            tuple(self.added_rows),
            tuple(self.already),
            tuple(self.acked),
            tuple(self.incomplete),
            tuple(self.failed),
            self.bytes_done,
        )


_Item = tuple[SessionEntryLike, bytes] | BaseException | None


async def _pull(run: _Run, client: SyncClient, after: int) -> None:
    """One stream of whole sessions from the cursor; ACKs go out between its frames.

    The stream is read ahead of the store: the request for the next frame is on the wire
    while the sessions of the last one commit, so the link does not idle during SQLite's
    fsyncs. Reading changes nothing on the device, and only committed sessions are acked.
    """
    queue: asyncio.Queue[_Item] = asyncio.Queue(READ_AHEAD)

    async def read_ahead() -> None:
        stream = client.read_sessions(after)
        try:
            async for item in stream:
                await queue.put(item)
        except Exception as err:  # the link's error, raised to the caller in its turn
            await queue.put(err)
            return
        finally:
            close = getattr(stream, "aclose", None)  # an async generator: end it here
            if close is not None:
                await close()
        await queue.put(None)

    reader = asyncio.create_task(read_ahead(), name="repcue-sync-read-ahead")
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            entry, raw = item
            if entry.session_id <= after:
                continue  # a device that restarts the stream too early: nothing new there
            run.bytes_done += len(raw)
            run.bytes_total += len(raw)
            if entry.complete:
                run.sessions_total += 1
            await run.handle(entry, raw)
        await run.flush_acks()
    finally:
        reader.cancel()
        # its own errors came through the queue; never let its end mask the caller's error
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def sync(
    client: SyncClient, store: Store, on_progress: ProgressCallback | None = None
) -> SyncResult:
    """Pull, store and acknowledge every complete session the device holds after the store's
    cursor. Safe to interrupt anywhere and re-run; raises the link's errors unchanged."""
    if not client.authenticated:
        # before anything is asked or written: an unauthenticated link may be anyone's
        raise AuthError(
            "refusing to sync over a link that is not authenticated (a device not paired "
            "with this computer): nothing was read, stored or acknowledged"
        )
    run = _Run(client, store, on_progress)
    info = await client.hello()
    run.device_id = info.device_id
    store.upsert_device(
        info.device_id,
        name=str(info.name),
        board=str(info.board),
        firmware_version=str(info.firmware_version),
    )
    after = run.cursor_saved = store.sync_cursor(run.device_id)
    run.last_known_id = max(after, store.max_session_id(run.device_id))
    await _pull(run, client, after)
    return run.result()
