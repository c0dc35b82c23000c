"""Versioned schema: ordered migrations, each a list of SQL statements.

The version lives in `PRAGMA user_version`; migration N (1-based) takes a database from
version N-1 to N inside one IMMEDIATE transaction, so a crash mid-migration leaves the old
version intact and a second process opening the file at the same time waits, then sees the
new version and does nothing. Never edit a released step: append a new one.
"""

from __future__ import annotations

import sqlite3

from repcue.errors import StoreError

# 'RPCU': marks the file as ours, so a stranger's SQLite file is refused rather than altered.
APPLICATION_ID = 0x52504355

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: devices, programs, sessions with steps and laps, sync cursors.
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            board TEXT NOT NULL DEFAULT '',
            firmware_version TEXT NOT NULL DEFAULT '',
            first_seen_s INTEGER NOT NULL,
            last_seen_s INTEGER NOT NULL
        )""",
        # program_id is the CRC-32 trailer of program_bytes.
        """CREATE TABLE programs (
            program_id INTEGER PRIMARY KEY,
            plan_name TEXT NOT NULL,
            plan_text TEXT NOT NULL DEFAULT '',
            program_bytes BLOB NOT NULL,
            seed INTEGER,
            created_s INTEGER NOT NULL
        )""",
        # No foreign key to programs: a device may run a program uploaded from another laptop.
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL REFERENCES devices(device_id),
            session_id INTEGER NOT NULL,
            program_id INTEGER NOT NULL,
            start_wall_s INTEGER,
            start_uptime_ms INTEGER NOT NULL,
            total_ms INTEGER NOT NULL,
            paused_ms INTEGER NOT NULL,
            pauses INTEGER NOT NULL,
            late_max_ms INTEGER NOT NULL,
            late_mean_ms INTEGER NOT NULL,
            end_reason TEXT NOT NULL,
            synced_s INTEGER NOT NULL,
            acked INTEGER NOT NULL DEFAULT 0,
            UNIQUE (device_id, session_id)
        )""",
        """CREATE TABLE steps (
            session_row INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            kind TEXT NOT NULL,
            end_reason TEXT NOT NULL,
            planned INTEGER NOT NULL,
            elapsed_ms INTEGER NOT NULL,
            PRIMARY KEY (session_row, seq)
        ) WITHOUT ROWID""",
        """CREATE TABLE laps (
            session_row INTEGER NOT NULL,
            step_seq INTEGER NOT NULL,
            lap_no INTEGER NOT NULL,
            lap_ms INTEGER NOT NULL,
            PRIMARY KEY (session_row, step_seq, lap_no),
            FOREIGN KEY (session_row, step_seq) REFERENCES steps(session_row, seq)
                ON DELETE CASCADE
        ) WITHOUT ROWID""",
        # after_session_id: every complete session with an id <= it is stored and acked.
        """CREATE TABLE sync_cursors (
            device_id TEXT PRIMARY KEY REFERENCES devices(device_id),
            after_session_id INTEGER NOT NULL,
            updated_s INTEGER NOT NULL
        )""",
    ),
    # v2: keep the device's raw session bytes (re-decodable if the record codec ever gains
    # fields, and compared when a session is listed again), index sessions by date.
    (
        "ALTER TABLE sessions ADD COLUMN raw BLOB",
        "CREATE INDEX sessions_by_start ON sessions(start_wall_s, synced_s)",
    ),
    # v3: a session keeps the name of the plan it ran, as it was when synced: programs are
    # keyed by their bytes, and a later upload of the same bytes must not rename the past.
    (
        "ALTER TABLE sessions ADD COLUMN plan_name TEXT",
        """UPDATE sessions SET plan_name =
            (SELECT p.plan_name FROM programs p WHERE p.program_id = sessions.program_id)""",
    ),
    # v4: when an MQTT broker acknowledged the session (`repcue sync --mqtt`; NULL: not yet,
    # the next `sync --mqtt` publishes it). Sessions synced before are marked 0: they
    # predate publishing and are never sent.
    (
        "ALTER TABLE sessions ADD COLUMN published_s INTEGER",
        "UPDATE sessions SET published_s = 0",
    ),
)

LATEST_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _check_ours(conn: sqlite3.Connection, where: str) -> None:
    """Refuse a file that holds someone else's tables (version 0 but not empty)."""
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(f"{where} is an SQLite file of another application (id {app_id:#x})")
    if app_id == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").fetchone()
        if int(tables[0]):
            raise StoreError(f"{where} holds tables but is not a repcue database")


def migrate(conn: sqlite3.Connection, where: str, target: int = LATEST_VERSION) -> int:
    """Bring the database up to `target`; return the version it is at afterwards.

    `conn` must be in autocommit mode (isolation_level=None): the transactions are ours.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"no schema version {target}")
    version = user_version(conn)
    if version > LATEST_VERSION:
        raise StoreError(
            f"{where} has schema version {version}, newer than this repcue understands "
            f"({LATEST_VERSION}); upgrade repcue to open it"
        )
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = user_version(conn)
            if version == 0:
                _check_ours(conn, where)
            if version < target:
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version
