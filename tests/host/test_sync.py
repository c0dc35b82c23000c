"""Exactly-once sync against an in-memory device: commit before ack, idempotent re-runs."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repcue.errors import AuthError, DisconnectedError, ProtocolError
from repcue.store import Store
from repcue.sync import (
    ACK_BATCH,
    MAX_SESSION_ID_JUMP,
    SyncProgress,
    decode_session_bytes,
    sync,
)
from repcue_fw.wire.host import records as wr
from tests.host.test_sync_fakes import (
    DEVICE_ID,
    PROGRAM_ID,
    FakeDevice,
    FakeEntry,
    make_session,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "repcue.db"


def device(db: Path, n: int = 5, incomplete: tuple[int, ...] = (), **kw: object) -> FakeDevice:
    sessions = {sid: make_session(sid, complete=sid not in incomplete) for sid in range(1, n + 1)}
    complete = set(sessions) - set(incomplete)
    return FakeDevice(sessions, complete, db_path=db, **kw)  # type: ignore[arg-type]


def stored_copies(db: Path) -> Counter[int]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT session_id FROM sessions WHERE device_id = ?", (DEVICE_ID,))
    copies = Counter(int(r[0]) for r in rows)
    conn.close()
    return copies


def assert_exactly_once(db: Path, dev: FakeDevice) -> None:
    copies = stored_copies(db)
    assert all(n == 1 for n in copies.values()), copies
    assert set(copies) == dev.complete  # every complete session, nothing else
    assert dev.acked == dev.complete
    assert dev.violations == []


async def test_sync_stores_every_complete_session_then_acks(db: Path) -> None:
    dev = device(db, 5, incomplete=(6,))
    dev.sessions[6] = make_session(6, complete=False)
    with Store(db) as store:
        result = await sync(dev, store)
        assert result.added == (1, 2, 3, 4, 5)
        assert result.incomplete == (6,)
        assert result.acked == (1, 2, 3, 4, 5)
        # the stream brought 6 too: it is left for the next sync, not stored
        assert result.bytes_read == sum(len(dev.sessions[s]) for s in range(1, 7))
        assert store.sync_cursor(DEVICE_ID) == 5
        assert store.unacked_session_ids(DEVICE_ID) == []
        summary = store.session(result.added_rows[0])
        assert summary is not None
        assert (summary.session_id, summary.program_id) == (1, PROGRAM_ID)
        assert summary.end_reason == "finished"
        assert (summary.step_count, summary.work_done) == (9, 4)
        assert summary.start_wall_s == 1_760_000_000 + 86_400
        steps = store.session_steps(summary.row_id)
        wire = wr.decode_session(dev.sessions[1])
        assert [(s.index, s.planned, s.elapsed_ms, s.laps_ms) for s in steps] == [
            (s.index, s.planned, s.elapsed_ms, tuple(s.laps_ms)) for s in wire.steps
        ]
        assert store.session_raw(summary.row_id) == dev.sessions[1]
        assert store.device(DEVICE_ID) is not None
    assert 6 not in stored_copies(db)
    assert dev.violations == []


async def test_rerun_reads_nothing_new(db: Path) -> None:
    # A journal that keeps listing acked sessions: the cursor alone must stop re-reads.
    dev = device(db, 4, list_acked=True)
    with Store(db) as store:
        await sync(dev, store)
        reads = len(dev.reads)
        again = await sync(dev, store)
    assert again.added == () and again.already_stored == ()
    assert len(dev.reads) == reads == 4
    assert_exactly_once(db, dev)


async def test_acks_go_out_in_batches_while_the_stream_goes_on(db: Path) -> None:
    dev = device(db, ACK_BATCH + 5)
    with Store(db) as store:
        result = await sync(dev, store)
    assert len(result.added) == ACK_BATCH + 5
    # a full batch as soon as it is committed, the rest at the end of the stream
    assert [len(c) for c in dev.ack_calls] == [ACK_BATCH, 5]
    assert_exactly_once(db, dev)


async def ack_boundary(tmp: Path, n: int) -> int:
    """The boundary number of the one ACK request when syncing n sessions from scratch:
    hello, the stream's frames, then the ack."""
    probe = device(tmp, n)
    with Store(tmp) as store:
        await sync(probe, store)
    return probe.boundaries


async def test_lost_ack_is_reacked_not_reinserted(db: Path) -> None:
    dev = device(db, 3, fail_at=await ack_boundary(db.with_name("probe.db"), 3))
    with Store(db) as store:
        with pytest.raises(DisconnectedError):
            await sync(dev, store)
        assert set(stored_copies(db)) == {1, 2, 3} and dev.acked == set()
        assert store.unacked_session_ids(DEVICE_ID) == [1, 2, 3]
        dev.fail_at = 0
        result = await sync(dev, store)
    assert result.added == () and result.already_stored == (1, 2, 3)
    assert_exactly_once(db, dev)


async def test_cut_at_every_message_boundary_then_rerun(tmp_path: Path) -> None:
    probe_db = tmp_path / "probe.db"
    probe = device(probe_db, 4, frame_bytes=48)
    with Store(probe_db) as store:
        await sync(probe, store)
    total = probe.boundaries
    assert total > 8  # hello, frames, the ack
    for cut in range(1, total + 1):
        db = tmp_path / f"cut{cut}.db"
        dev = device(db, 4, frame_bytes=48, fail_at=cut)
        with Store(db) as store:
            with pytest.raises(DisconnectedError):
                await sync(dev, store)
            # Never acked what is not committed, even at the cut.
            assert dev.acked <= set(stored_copies(db))
            dev.fail_at = 0
            dev.boundaries = 0
            await sync(dev, store)
            assert store.sync_cursor(DEVICE_ID) == 4
        assert_exactly_once(db, dev)


async def test_incomplete_session_holds_the_cursor(db: Path) -> None:
    # The real journal lists acked sessions until it reclaims them: 4 comes again.
    dev = device(db, 4, incomplete=(3,), list_acked=True)
    with Store(db) as store:
        first = await sync(dev, store)
        assert first.added == (1, 2, 4) and first.incomplete == (3,)
        assert store.sync_cursor(DEVICE_ID) == 2  # session 3 must be listed again
        dev.sessions[3] = make_session(3)
        dev.complete.add(3)
        seen: list[SyncProgress] = []
        second = await sync(dev, store, on_progress=seen.append)
        assert second.added == (3,) and second.acked == (3,)
        assert dev.reads == [1, 2, 3, 4, 3, 4]  # 4 came again: not stored, not acked again
        assert seen[-1].bytes_done == seen[-1].bytes_total
        assert seen[-1].bytes_done == len(dev.sessions[3]) + len(dev.sessions[4])
        assert store.sync_cursor(DEVICE_ID) == 4
    assert_exactly_once(db, dev)


async def test_undecodable_session_is_left_on_the_device(db: Path) -> None:
    dev = device(db, 3)
    good = dev.sessions[2]
    bad = bytearray(good)
    bad[20] ^= 0x55
    dev.sessions[2] = bytes(bad)
    with Store(db) as store:
        result = await sync(dev, store)
        assert result.added == (1, 3)
        assert [f.session_id for f in result.failed] == [2]
        assert "session 2" in result.failed[0].message and "byte" in result.failed[0].message
        assert 2 not in dev.acked
        assert store.sync_cursor(DEVICE_ID) == 1
        dev.sessions[2] = good
        assert (await sync(dev, store)).added == (2,)
    assert_exactly_once(db, dev)


async def test_short_read_is_not_stored_or_acked(db: Path) -> None:
    dev = device(db, 2)

    class ShortDevice(FakeDevice):
        async def read_sessions(self, after_id: int = 0) -> AsyncIterator[tuple[FakeEntry, bytes]]:
            async for entry, data in super().read_sessions(after_id):
                yield FakeEntry(entry.session_id, entry.size_bytes + 5, entry.complete), data

    short = ShortDevice(dev.sessions, dev.complete, db_path=db)
    with Store(db) as store:
        result = await sync(short, store)
        assert result.added == () and short.acked == set()
        assert "read 113 bytes, the device listed 118" in result.failed[0].message
        assert store.session_count() == 0


async def test_power_lost_session_without_end_record(db: Path) -> None:
    dev = device(db, 1)
    dev.sessions[1] = make_session(1, complete=False, steps=3)  # the journal lists it complete
    with Store(db) as store:
        result = await sync(dev, store)
        summary = store.session(result.added_rows[0])
    assert summary is not None
    assert summary.end_reason == "power_lost"
    assert summary.step_count == 3
    assert summary.total_ms == 600_000 + 72_001 + 60_000
    assert_exactly_once(db, dev)


async def test_different_bytes_under_a_stored_id_are_not_acked(db: Path) -> None:
    first = device(db, 2, fail_at=await ack_boundary(db.with_name("probe.db"), 2))
    with Store(db) as store:
        with pytest.raises(DisconnectedError):
            await sync(first, store)  # both stored, the ack lost
        # Same device id, journal wiped and ids reused: session 2 is a different run now.
        wiped = FakeDevice(
            {1: first.sessions[1], 2: make_session(2, start_wall_s=1_800_000_000)},
            {1, 2},
            db_path=db,
        )
        result = await sync(wiped, store)
    assert result.already_stored == (1,)
    assert [f.session_id for f in result.failed] == [2]
    assert wiped.acked == {1}


async def test_progress_reports_bytes_and_sessions(db: Path) -> None:
    dev = device(db, 3)
    seen: list[SyncProgress] = []
    with Store(db) as store:
        await sync(dev, store, on_progress=seen.append)
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)
    last = seen[-1]
    assert (last.sessions_done, last.sessions_total) == (3, 3)
    assert last.bytes_done == last.bytes_total == sum(len(b) for b in dev.sessions.values())


def test_decode_adapter_maps_names() -> None:
    wire = wr.decode_session(make_session(4))
    wire.start_wall_s = 0  # the device was never given the time
    raw = wr.encode_session(wire)
    data = decode_session_bytes(raw, 4)
    assert data.start_wall_s is None and data.start_uptime_ms == 5_000
    assert [s.kind for s in data.steps[:3]] == ["warmup", "work", "recovery"]
    assert [s.end_reason for s in data.steps[:2]] == ["time", "lap"]
    assert data.steps[0].laps_ms == (200_000, 400_000)
    with pytest.raises(ProtocolError, match="asked for session 5"):
        decode_session_bytes(raw, 5)
    with pytest.raises(ProtocolError, match=r"session 4: .*byte 0"):
        decode_session_bytes(b"\xff" + raw[1:], 4)


async def test_an_unauthenticated_link_is_never_synced(db: Path) -> None:
    dev = device(db, 3, authenticated=False)
    with Store(db) as store:
        with pytest.raises(AuthError, match="not authenticated"):
            await sync(dev, store)
        assert store.devices() == [] and store.sync_cursor(DEVICE_ID) == 0
    assert dev.boundaries == 0 and dev.acked == set()  # not even HELLO was asked


async def test_an_implausible_session_id_jump_is_neither_stored_nor_acked(db: Path) -> None:
    dev = device(db, 2)
    forged = 2 + MAX_SESSION_ID_JUMP + 1
    dev.sessions[forged] = make_session(forged)
    dev.complete.add(forged)
    with Store(db) as store:
        result = await sync(dev, store)
        assert result.added == (1, 2) and result.acked == (1, 2)
        assert [f.session_id for f in result.failed] == [forged]
        assert "not believed" in result.failed[0].message
        assert store.sync_cursor(DEVICE_ID) == 2  # the real sessions after 2 still come
        assert store.session_by_device_id(DEVICE_ID, forged) is None
    assert forged not in dev.acked
    # a jump within the bound (sessions synced by another host meanwhile) is fine
    dev2 = device(db, 2)
    near = 2 + MAX_SESSION_ID_JUMP
    dev2.sessions = {near: make_session(near)}
    dev2.complete = {near}
    with Store(db) as store:
        assert (await sync(dev2, store)).added == (near,)
