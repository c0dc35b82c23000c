"""The SQLite store: one file, WAL, every write its own IMMEDIATE transaction.

Sync relies on one promise from here: when `add_session` returns, the session and all its
steps are durably on disk (synchronous=FULL), or none of it is. Only then may the device be
told it can forget the session.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from repcue.errors import StoreError
from repcue.store import queries
from repcue.store.models import (
    DeviceRecord,
    ProgramRecord,
    SessionData,
    SessionSummary,
    StepRecord,
)
from repcue.store.readonly import cannot_write, connect_read_only
from repcue.store.schema import LATEST_VERSION, migrate, user_version
from repcue_fw.wire import WireError
from repcue_fw.wire.host import program as wire_program

BUSY_TIMEOUT_S = 10.0


def _now_s() -> int:
    return int(time.time())


class Store:
    """The local database of devices, programs, sessions and sync cursors."""

    def __init__(
        self, path: Path | str, *, migrate_to: int = LATEST_VERSION, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        where = str(self.path)
        if read_only and self._open_read_only(migrate_to):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the folder for {where}: {err.strerror}") from err
        try:
            # isolation_level=None: no implicit transactions; every write is ours, explicit.
            # check_same_thread=False: sync commits from a worker thread (its fsyncs must not
            # stall the link's event loop), one call at a time; sqlite3 is built serialized.
            self._conn = sqlite3.connect(
                where, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot open {where}: {err}") from err
        try:
            self._conn.execute("PRAGMA foreign_keys = ON")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() not in ("wal", "memory"):  # memory: an empty read-only view
                raise StoreError(f"{where}: SQLite refused WAL mode ({mode})")
            # FULL: a commit survives power loss, which is what makes acking it safe.
            self._conn.execute("PRAGMA synchronous = FULL")
            self.schema_version = migrate(self._conn, where, migrate_to)
        except sqlite3.OperationalError as err:
            self._conn.close()
            raise StoreError(f"cannot use {where}: {err}") from err
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise StoreError(f"{where} is not a usable repcue database: {err}") from err
        except BaseException:
            self._conn.close()
            raise

    def _open_read_only(self, target: int) -> bool:
        """Open an existing store for reading only (nothing is written, not even the WAL
        mode). False when its schema is older than `target`: then it is opened to be
        migrated, as any command would, and a store that cannot be written says so."""
        self._conn = connect_read_only(self.path, BUSY_TIMEOUT_S)
        version = user_version(self._conn)
        if version > LATEST_VERSION:
            self._conn.close()
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this repcue "
                f"understands ({LATEST_VERSION}); upgrade repcue to open it"
            )
        if version >= target:
            self.schema_version = version
            return True
        self._conn.close()
        why = cannot_write(self.path)
        if version and why:
            raise StoreError(
                f"{self.path} has schema version {version}, older than this repcue's "
                f"({target}), and cannot be upgraded where it is ({why}): run repcue once "
                "where it may write the store, or copy it somewhere writable"
            )
        return False

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on normal exit, rolled back on any error."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"{self.path} is busy or read-only: {err}") from err
        try:
            yield self._conn
        except sqlite3.Error as err:
            self._conn.execute("ROLLBACK")
            raise StoreError(f"writing to {self.path} failed, nothing was changed: {err}") from err
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as err:
            self._conn.execute("ROLLBACK")
            raise StoreError(f"commit to {self.path} failed: {err}") from err

    def _one(self, sql: str, params: Iterable[object] = ()) -> sqlite3.Row | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _all(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        try:
            cur = self._conn.execute(sql, tuple(params))
            cur.row_factory = sqlite3.Row
            return cur.fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"reading {self.path} failed: {err}") from err

    # -- devices ----------------------------------------------------------------------------

    def upsert_device(
        self, device_id: str, *, name: str = "", board: str = "", firmware_version: str = ""
    ) -> DeviceRecord:
        if not device_id:
            raise StoreError("a device needs a non-empty id")
        now = _now_s()
        with self.transaction() as conn:
            conn.execute(queries.UPSERT_DEVICE, (device_id, name, board, firmware_version, now))
        found = self.device(device_id)
        if found is None:  # pragma: no cover - we just wrote it
            raise StoreError(f"device {device_id} vanished after writing it")
        return found

    def device(self, device_id: str) -> DeviceRecord | None:
        row = self._one(queries.SELECT_DEVICE + " WHERE device_id = ?", (device_id,))
        return None if row is None else DeviceRecord(**dict(row))

    def devices(self) -> list[DeviceRecord]:
        rows = self._all(queries.SELECT_DEVICE + " ORDER BY last_seen_s DESC")
        return [DeviceRecord(**dict(r)) for r in rows]

    # -- programs ---------------------------------------------------------------------------

    def add_program(
        self,
        program_bytes: bytes,
        *,
        plan_name: str,
        plan_text: str = "",
        seed: int | None = None,
    ) -> ProgramRecord:
        """Remember an encoded program (call it when uploading) so sessions can name it."""
        try:
            wire_program.decode(program_bytes)
        except WireError as err:
            raise StoreError(
                f"program bytes for {plan_name!r} do not decode: {err.message} "
                f"(byte {err.offset}, {err.field})"
            ) from err
        program_id = int(wire_program.program_id(program_bytes))
        with self.transaction() as conn:
            old = conn.execute(
                "SELECT program_bytes FROM programs WHERE program_id = ?", (program_id,)
            ).fetchone()
            if old is not None and bytes(old[0]) != bytes(program_bytes):
                raise StoreError(
                    f"program id {program_id:08x} is already stored with different bytes"
                )
            conn.execute(
                queries.UPSERT_PROGRAM,
                (program_id, plan_name, plan_text, bytes(program_bytes), seed, _now_s()),
            )
        found = self.program(program_id)
        if found is None:  # pragma: no cover - we just wrote it
            raise StoreError(f"program {program_id:08x} vanished after writing it")
        return found

    def program(self, program_id: int) -> ProgramRecord | None:
        row = self._one(queries.SELECT_PROGRAM + " WHERE program_id = ?", (program_id,))
        if row is None:
            return None
        values = dict(row)
        values["program_bytes"] = bytes(values["program_bytes"])
        return ProgramRecord(**values)

    # -- sessions ---------------------------------------------------------------------------

    def has_session(self, device_id: str, session_id: int) -> bool:
        row = self._one(
            "SELECT 1 FROM sessions WHERE device_id = ? AND session_id = ?",
            (device_id, session_id),
        )
        return row is not None

    def add_session(self, device_id: str, session: SessionData, raw: bytes = b"") -> int | None:
        """Store a session with all its steps and laps in ONE transaction.

        Returns the new row id, or None when (device_id, session_id) was already stored (a
        re-run after a lost ACK): idempotent, the first copy wins.
        """
        with self.transaction() as conn:
            if session.program:
                conn.execute(
                    queries.INSERT_SESSION_PROGRAM,
                    (
                        session.program_id,
                        wire_program.decode(session.program).name,
                        bytes(session.program),
                        _now_s(),
                    ),
                )
            cur = conn.execute(
                queries.INSERT_SESSION,
                (
                    device_id,
                    session.session_id,
                    session.program_id,
                    session.start_wall_s,
                    session.start_uptime_ms,
                    session.total_ms,
                    session.paused_ms,
                    session.pauses,
                    session.late_max_ms,
                    session.late_mean_ms,
                    session.end_reason,
                    _now_s(),
                    bytes(raw),
                ),
            )
            if cur.rowcount == 0:
                return None
            row_id = cur.lastrowid
            if row_id is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
                raise StoreError("SQLite gave no row id for a new session")
            conn.executemany(
                queries.INSERT_STEP,
                [
                    (row_id, seq, s.index, s.kind, s.end_reason, s.planned, s.elapsed_ms)
                    for seq, s in enumerate(session.steps)
                ],
            )
            conn.executemany(
                queries.INSERT_LAP,
                [
                    (row_id, seq, lap_no, lap_ms)
                    for seq, s in enumerate(session.steps)
                    for lap_no, lap_ms in enumerate(s.laps_ms)
                ],
            )
        return row_id

    def mark_acked(self, device_id: str, session_ids: Iterable[int]) -> None:
        ids = [(device_id, sid) for sid in session_ids]
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE sessions SET acked = 1 WHERE device_id = ? AND session_id = ?", ids
            )

    def unacked_session_ids(self, device_id: str) -> list[int]:
        rows = self._all(
            "SELECT session_id FROM sessions WHERE device_id = ? AND acked = 0 ORDER BY session_id",
            (device_id,),
        )
        return [int(r["session_id"]) for r in rows]

    def unpublished_sessions(self, device_id: str) -> list[SessionSummary]:
        """A device's sessions no MQTT broker has acknowledged yet, in sync order."""
        rows = self._all(
            queries.SELECT_SUMMARY + " WHERE s.device_id = ? AND s.published_s IS NULL"
            " ORDER BY s.id",
            (device_id,),
        )
        return [queries.summary_from_row(r) for r in rows]

    def mark_published(self, row_id: int) -> None:
        """The broker acknowledged the session (its PUBACK came): never published again."""
        with self.transaction() as conn:
            conn.execute("UPDATE sessions SET published_s = ? WHERE id = ?", (_now_s(), row_id))

    def sessions(
        self, *, device_id: str | None = None, limit: int | None = None
    ) -> list[SessionSummary]:
        """Stored sessions, the last synced first: the store's row order is sync order, and
        within a sync the device's session order. Not the device's dates: a clock that was
        never set, or a virtual one running 60 times fast, would reorder the past."""
        sql = queries.SELECT_SUMMARY
        params: list[object] = []
        if device_id is not None:
            sql += " WHERE s.device_id = ?"
            params.append(device_id)
        sql += " ORDER BY s.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [queries.summary_from_row(r) for r in self._all(sql, params)]

    def session(self, row_id: int) -> SessionSummary | None:
        row = self._one(queries.SELECT_SUMMARY + " WHERE s.id = ?", (row_id,))
        return None if row is None else queries.summary_from_row(row)

    def session_by_device_id(self, device_id: str, session_id: int) -> SessionSummary | None:
        row = self._one(
            queries.SELECT_SUMMARY + " WHERE s.device_id = ? AND s.session_id = ?",
            (device_id, session_id),
        )
        return None if row is None else queries.summary_from_row(row)

    def find_session(self, ref: str) -> SessionSummary:
        """A session by what a user types: a row id, `last`, or DEVICE:SESSION_ID."""
        return queries.find_session(self, ref)

    def session_steps(self, row_id: int) -> list[StepRecord]:
        laps: dict[int, list[int]] = {}
        for r in self._all(
            "SELECT step_seq, lap_ms FROM laps WHERE session_row = ? ORDER BY step_seq, lap_no",
            (row_id,),
        ):
            laps.setdefault(int(r["step_seq"]), []).append(int(r["lap_ms"]))
        rows = self._all(
            "SELECT seq, idx, kind, end_reason, planned, elapsed_ms FROM steps "
            "WHERE session_row = ? ORDER BY seq",
            (row_id,),
        )
        return [
            StepRecord(
                seq=int(r["seq"]),
                index=int(r["idx"]),
                kind=str(r["kind"]),
                end_reason=str(r["end_reason"]),
                planned=int(r["planned"]),
                elapsed_ms=int(r["elapsed_ms"]),
                laps_ms=tuple(laps.get(int(r["seq"]), ())),
            )
            for r in rows
        ]

    def session_raw(self, row_id: int) -> bytes:
        row = self._one("SELECT raw FROM sessions WHERE id = ?", (row_id,))
        return b"" if row is None or row["raw"] is None else bytes(row["raw"])

    def session_count(self, device_id: str | None = None) -> int:
        if device_id is None:
            row = self._one("SELECT count(*) AS n FROM sessions")
        else:
            row = self._one("SELECT count(*) AS n FROM sessions WHERE device_id = ?", (device_id,))
        return 0 if row is None else int(row["n"])

    def max_session_id(self, device_id: str) -> int:
        """The highest device session id stored for the device (0: none)."""
        row = self._one(
            "SELECT max(session_id) AS m FROM sessions WHERE device_id = ?", (device_id,)
        )
        return 0 if row is None or row["m"] is None else int(row["m"])

    # -- sync cursors -----------------------------------------------------------------------

    def sync_cursor(self, device_id: str) -> int:
        """The id after which to list a device's sessions (0: from the beginning)."""
        row = self._one(
            "SELECT after_session_id FROM sync_cursors WHERE device_id = ?", (device_id,)
        )
        return 0 if row is None else int(row["after_session_id"])

    def set_sync_cursor(self, device_id: str, after_session_id: int) -> None:
        """Move the cursor forward (never back: a late, stale writer cannot rewind it)."""
        with self.transaction() as conn:
            conn.execute(queries.UPSERT_CURSOR, (device_id, after_session_id, _now_s()))

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, schema v{user_version(self._conn)})"
