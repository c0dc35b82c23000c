"""The SQLite store: schema migrations, refusal of files it must not touch, typed accessors."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from repcue.config import DB_ENV, default_db_path, resolve_db_path, resolve_device_spec
from repcue.errors import StoreError
from repcue.store import LATEST_VERSION, SessionData, StepData, Store, open_store
from repcue.store.schema import APPLICATION_ID, MIGRATIONS, migrate
from tests.host.test_sync_fakes import PROGRAM_BYTES, PROGRAM_ID


def session(sid: int, *, start: int | None = 1_760_000_000, laps: int = 2) -> SessionData:
    steps = (
        StepData(0, "warmup", "time", 600, 600_000, tuple(range(100, 100 * (laps + 1), 100))),
        StepData(1, "work", "lap", 400, 72_000),
        StepData(2, "recovery", "skip", 60, 30_000),
        StepData(3, "work", "stop", 400, 10_000),
    )
    return SessionData(sid, PROGRAM_ID, start, 5_000, 712_000, 0, 0, 9, 3, "stopped", steps)


def test_new_store_is_wal_at_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "repcue.db"
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_v1_database_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store(path, migrate_to=1) as old:
        assert old.schema_version == 1
    # A v1 row written by v1 code: no raw bytes column yet.
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO devices VALUES ('d1', 'watch', 'sim', '0.1', 1, 2)")
    conn.execute(
        "INSERT INTO sessions (device_id, session_id, program_id, start_wall_s, "
        "start_uptime_ms, total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason, "
        "synced_s) VALUES ('d1', 7, 1, 1700000000, 0, 60000, 0, 0, 1, 0, 'finished', 5)"
    )
    conn.execute("INSERT INTO steps VALUES (1, 0, 0, 'work', 'time', 60, 60000)")
    conn.commit()
    assert {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}.isdisjoint({"raw"})
    conn.close()
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION
        found = store.session_by_device_id("d1", 7)
        assert found is not None
        assert (found.start_wall_s, found.step_count) == (1_700_000_000, 1)
        assert store.session_raw(found.row_id) == b""
        assert store.session_steps(found.row_id)[0].elapsed_ms == 60_000


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match=rf"schema version {LATEST_VERSION + 1}, newer .* upgrade"):
        Store(path)


def test_foreign_files_are_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a repcue database"):
        Store(other)
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0  # not migrated
    conn.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.db is not a usable repcue database"):
        Store(junk)


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    Store(path, migrate_to=1).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE INDEX sessions_by_start ON sessions(synced_s)")  # v2 will collide
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, str(path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
    assert "raw" not in columns  # the ALTERs before the failing statement were undone
    conn.close()


def test_devices_and_programs(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        first = store.upsert_device("ab12", name="watch", board="sim", firmware_version="0.1")
        again = store.upsert_device("ab12", name="renamed", board="sim", firmware_version="0.2")
        assert (again.name, again.firmware_version, again.first_seen_s) == (
            "renamed",
            "0.2",
            first.first_seen_s,
        )
        assert [d.device_id for d in store.devices()] == ["ab12"]
        with pytest.raises(StoreError, match="non-empty id"):
            store.upsert_device("")

        prog = store.add_program(PROGRAM_BYTES, plan_name="4x400", plan_text="4x400m", seed=7)
        assert prog.program_id == PROGRAM_ID and prog.program_bytes == PROGRAM_BYTES
        renamed = store.add_program(PROGRAM_BYTES, plan_name="track 4x400")
        assert (renamed.plan_name, renamed.seed) == ("track 4x400", 7)
        with pytest.raises(dataclasses.FrozenInstanceError):
            renamed.plan_name = "x"  # type: ignore[misc]
        with pytest.raises(StoreError, match=r"'broken' do not decode: program CRC mismatch"):
            store.add_program(PROGRAM_BYTES[:-1] + b"\x00", plan_name="broken")
        assert store.program(123) is None


def test_add_session_is_one_idempotent_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.upsert_device("ab12", name="watch")
        row = store.add_session("ab12", session(1, laps=20), raw=b"raw-bytes")
        assert row is not None
        assert store.add_session("ab12", session(1, start=None)) is None  # first copy wins
        assert store.session_count() == 1
        steps = store.session_steps(row)
        assert [s.kind for s in steps] == ["warmup", "work", "recovery", "work"]
        assert steps[0].laps_ms == tuple(range(100, 2100, 100))
        assert store.session_raw(row) == b"raw-bytes"
        summary = store.session(row)
        assert summary is not None
        assert (summary.work_done, summary.step_count, summary.acked) == (1, 4, False)
        assert summary.start_wall_s == 1_760_000_000

        # A failure inside the transaction leaves nothing: a step with a NULL kind.
        bad = dataclasses.replace(
            session(2),
            steps=(StepData(0, None, "time", 1, 1),),  # type: ignore[arg-type]
        )
        with pytest.raises(StoreError, match="nothing was changed: NOT NULL"):
            store.add_session("ab12", bad)
        assert not store.has_session("ab12", 2)
        # A session for a device the store has never seen violates the foreign key.
        with pytest.raises(StoreError, match="FOREIGN KEY"):
            store.add_session("unknown", session(3))
        assert store.session_count() == 1

        store.mark_acked("ab12", [1])
        assert store.unacked_session_ids("ab12") == []


def test_cursor_only_moves_forward(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.upsert_device("ab12")
        assert store.sync_cursor("ab12") == 0
        store.set_sync_cursor("ab12", 5)
        store.set_sync_cursor("ab12", 3)
        assert store.sync_cursor("ab12") == 5


def test_find_session_references(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(StoreError, match="no sessions stored"):
            store.find_session("last")
        store.upsert_device("ab12cd", name="watch")
        store.upsert_device("ff00", name="other")
        # the device's clock can be wrong (in the future here) or unset: "last" is the
        # session the store received last, whatever the device's dates say
        old = store.add_session("ab12cd", session(1, start=1_900_000_000))
        new = store.add_session("ab12cd", session(2, start=1_700_000_000))
        assert store.find_session("last").row_id == new
        undated = store.add_session("ff00", session(1, start=None))
        assert store.find_session("last").row_id == undated
        assert store.find_session(str(old)).session_id == 1
        assert store.find_session("ab12:2").row_id == new
        assert store.find_session("watch:1").row_id == old
        assert store.find_session("FF00:1").row_id == undated
        with pytest.raises(StoreError, match="no session 99"):
            store.find_session("99")
        with pytest.raises(StoreError, match="no device matching 'zz'"):
            store.find_session("zz:1")
        with pytest.raises(StoreError, match="cannot read session reference"):
            store.find_session("yesterday")
        with pytest.raises(StoreError, match="has no stored session 5"):
            store.find_session("watch:5")


def test_db_and_device_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.delenv("REPCUE_DEVICE", raising=False)
    assert resolve_db_path() == default_db_path()
    assert default_db_path().name == "repcue.db"
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.db"))
    assert resolve_db_path() == tmp_path / "env.db"
    assert resolve_db_path(tmp_path / "flag.db") == tmp_path / "flag.db"
    with open_store() as store:
        assert store.path == tmp_path / "env.db"
    assert (tmp_path / "env.db").exists()
    assert resolve_device_spec() == "serial:auto"
    monkeypatch.setenv("REPCUE_DEVICE", "sim:")
    assert resolve_device_spec() == "sim:"
    assert resolve_device_spec("serial:/dev/ttyACM0") == "serial:/dev/ttyACM0"


def test_a_locked_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import repcue.store.db

    monkeypatch.setattr(repcue.store.db, "BUSY_TIMEOUT_S", 0.05)
    path = tmp_path / "busy.db"
    with Store(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process mid-write
        with pytest.raises(StoreError, match="busy or read-only: database is locked"):
            store.upsert_device("ab12")
        other.execute("ROLLBACK")
        other.close()
        assert store.upsert_device("ab12").device_id == "ab12"


def test_v4_remembers_what_a_broker_acknowledged(tmp_path: Path) -> None:
    """Sessions synced before v4 predate publishing (never sent); each later one waits
    for a broker's acknowledgement, in sync order, per device."""
    path = tmp_path / "old.db"
    with Store(path, migrate_to=3) as old:
        old.upsert_device("d1")
        old.add_session("d1", session(1))
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION >= 4
        assert store.unpublished_sessions("d1") == []
        store.upsert_device("d2")
        rows = [store.add_session("d1", session(2)), store.add_session("d1", session(3))]
        store.add_session("d2", session(1))
        assert [s.row_id for s in store.unpublished_sessions("d1")] == rows
        assert rows[0] is not None
        store.mark_published(rows[0])
        assert [s.session_id for s in store.unpublished_sessions("d1")] == [3]
        assert [s.session_id for s in store.unpublished_sessions("d2")] == [1]
