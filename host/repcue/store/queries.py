"""SQL text and row mapping for the store, kept apart so db.py reads as the API it is."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from repcue.errors import StoreError
from repcue.store.models import SessionSummary

if TYPE_CHECKING:
    from repcue.store.db import Store

UPSERT_DEVICE = """
INSERT INTO devices (device_id, name, board, firmware_version, first_seen_s, last_seen_s)
VALUES (?1, ?2, ?3, ?4, ?5, ?5)
ON CONFLICT (device_id) DO UPDATE SET
    name = excluded.name, board = excluded.board,
    firmware_version = excluded.firmware_version, last_seen_s = excluded.last_seen_s
"""

SELECT_DEVICE = (
    "SELECT device_id, name, board, firmware_version, first_seen_s, last_seen_s FROM devices"
)

# A renamed plan with identical bytes keeps its id and takes the newer name and text (for
# sessions still to come: a stored session keeps the name it was synced with).
UPSERT_PROGRAM = """
INSERT INTO programs (program_id, plan_name, plan_text, program_bytes, seed, created_s)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (program_id) DO UPDATE SET
    plan_name = excluded.plan_name, plan_text = excluded.plan_text,
    seed = coalesce(excluded.seed, programs.seed)
"""

# A program that arrived inside a session: never replaces what an upload stored.
INSERT_SESSION_PROGRAM = """
INSERT OR IGNORE INTO programs (program_id, plan_name, plan_text, program_bytes, seed, created_s)
VALUES (?, ?, '', ?, NULL, ?)
"""

SELECT_PROGRAM = (
    "SELECT program_id, plan_name, plan_text, program_bytes, seed, created_s FROM programs"
)

# OR IGNORE on the (device_id, session_id) key is what makes a re-run of sync harmless.
INSERT_SESSION = """
INSERT OR IGNORE INTO sessions (
    device_id, session_id, program_id, start_wall_s, start_uptime_ms,
    total_ms, paused_ms, pauses, late_max_ms, late_mean_ms, end_reason, synced_s, raw,
    plan_name
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    (SELECT nullif(plan_name, '') FROM programs WHERE program_id = ?3))
"""

INSERT_STEP = """
INSERT INTO steps (session_row, seq, idx, kind, end_reason, planned, elapsed_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""

INSERT_LAP = "INSERT INTO laps (session_row, step_seq, lap_no, lap_ms) VALUES (?, ?, ?, ?)"

UPSERT_CURSOR = """
INSERT INTO sync_cursors (device_id, after_session_id, updated_s) VALUES (?, ?, ?)
ON CONFLICT (device_id) DO UPDATE SET
    after_session_id = max(sync_cursors.after_session_id, excluded.after_session_id),
    updated_s = excluded.updated_s
"""

SELECT_SUMMARY = """
SELECT s.id, s.device_id, coalesce(d.name, '') AS device_name, s.session_id, s.program_id,
    coalesce(s.plan_name, nullif(p.plan_name, '')) AS plan_name, s.start_wall_s, s.synced_s,
    s.total_ms, s.paused_ms, s.pauses, s.late_max_ms, s.late_mean_ms, s.end_reason, s.acked,
    (SELECT count(*) FROM steps t WHERE t.session_row = s.id) AS step_count,
    (SELECT count(*) FROM steps t WHERE t.session_row = s.id AND t.kind = 'work'
        AND t.end_reason IN ('time', 'lap')) AS work_done
FROM sessions s
LEFT JOIN devices d ON d.device_id = s.device_id
LEFT JOIN programs p ON p.program_id = s.program_id
"""


def summary_from_row(row: sqlite3.Row) -> SessionSummary:
    start = row["start_wall_s"]
    return SessionSummary(
        row_id=int(row["id"]),
        device_id=str(row["device_id"]),
        device_name=str(row["device_name"]),
        session_id=int(row["session_id"]),
        program_id=int(row["program_id"]),
        plan_name=None if row["plan_name"] is None else str(row["plan_name"]),
        start_wall_s=None if start is None else int(start),
        synced_s=int(row["synced_s"]),
        total_ms=int(row["total_ms"]),
        paused_ms=int(row["paused_ms"]),
        pauses=int(row["pauses"]),
        late_max_ms=int(row["late_max_ms"]),
        late_mean_ms=int(row["late_mean_ms"]),
        end_reason=str(row["end_reason"]),
        step_count=int(row["step_count"]),
        work_done=int(row["work_done"]),
        acked=bool(row["acked"]),
    )


def find_session(store: Store, ref: str) -> SessionSummary:
    """Resolve `ref`: a row id ("12"), "last"/"latest", or DEVICE:SESSION ("1a2b:7", where
    DEVICE is a device name or a unique prefix of its hex id)."""
    text = ref.strip()
    found: SessionSummary | None
    if text.lower() in ("last", "latest"):
        newest = store.sessions(limit=1)
        if not newest:
            raise StoreError(f"no sessions stored in {store.path} yet: run `repcue sync`")
        return newest[0]
    if text.isdigit():
        found = store.session(int(text))
        if found is None:
            raise StoreError(f"no session {text} in {store.path} (see `repcue history`)")
        return found
    device_ref, sep, sid_text = text.rpartition(":")
    if not sep or not device_ref or not sid_text.isdigit():
        raise StoreError(
            f"cannot read session reference {ref!r}: give a number from `repcue history`, "
            "'last', or DEVICE:SESSION"
        )
    matches = [
        d
        for d in store.devices()
        if d.name == device_ref or d.device_id.lower().startswith(device_ref.lower())
    ]
    if len(matches) != 1:
        what = "no device" if not matches else f"{len(matches)} devices"
        raise StoreError(f"{what} matching {device_ref!r} in {store.path}")
    found = store.session_by_device_id(matches[0].device_id, int(sid_text))
    if found is None:
        raise StoreError(f"device {matches[0].device_id} has no stored session {sid_text}")
    return found
