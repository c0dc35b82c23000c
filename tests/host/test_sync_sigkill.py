"""A host SIGKILLed mid-sync, anywhere, then re-run: every session stored exactly once.

The child process (tests/host/test_sync_fakes.py run as a script) syncs against a device
stand-in whose acked set persists in a file, as a device's flash would. It is killed either
by us while it waits at a chosen message boundary, or by itself from inside SQLite (as a
statement starts: mid-transaction or just before COMMIT).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from repcue.store import Store
from repcue.sync import sync
from tests.host.test_sync_fakes import (
    DEVICE_ID,
    FRAME_BYTES,
    load_device,
    make_session,
    save_state,
)

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 5  # complete; one more is still being recorded


def make_state(tmp: Path) -> Path:
    state = tmp / "device.json"
    sessions = {sid: make_session(sid) for sid in range(1, SESSIONS + 1)}
    sessions[SESSIONS + 1] = make_session(SESSIONS + 1, complete=False)
    save_state(state, sessions, set(range(1, SESSIONS + 1)))
    return state


def child(state: Path, db: Path, block_at: int = 0, kill_sql: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.host.test_sync_fakes",
            str(state),
            str(db),
            str(block_at),
            kill_sql,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rerun_and_check(state: Path, db: Path) -> None:
    # Like the real journal, the device lists acked sessions until it reclaims them.
    dev = load_device(state, db, list_acked=True)
    with Store(db) as store:
        asyncio.run(sync(dev, store))
        copies = Counter(s.session_id for s in store.sessions(device_id=DEVICE_ID))
        assert store.sync_cursor(DEVICE_ID) == SESSIONS
        assert store.unacked_session_ids(DEVICE_ID) == []  # the store's flags caught up
    assert copies == Counter(range(1, SESSIONS + 1))  # each complete session exactly once
    assert dev.acked == set(range(1, SESSIONS + 1))
    assert dev.violations == []


def boundaries_of_a_clean_run(tmp: Path) -> int:
    state = make_state(tmp)
    dev = load_device(state, tmp / "probe.db", list_acked=True, frame_bytes=FRAME_BYTES)
    with Store(tmp / "probe.db") as store:
        asyncio.run(sync(dev, store))
    return dev.boundaries


def test_sigkill_at_every_message_boundary(tmp_path: Path) -> None:
    (tmp_path / "probe").mkdir()
    total = boundaries_of_a_clean_run(tmp_path / "probe")
    assert total > 10
    for block_at in range(1, total + 1):
        run = tmp_path / f"b{block_at}"
        run.mkdir()
        state, db = make_state(run), run / "repcue.db"
        proc = child(state, db, block_at=block_at)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "BLOCKED\n", (line, proc.stderr.read() if proc.stderr else "")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        rerun_and_check(state, db)


def stored_ids(db: Path) -> set[int]:
    with Store(db) as store:
        return {s.session_id for s in store.sessions()}


@pytest.mark.parametrize(
    ("kill_sql", "stored", "acked"),
    [
        # (executemany traces each row.) The second session's first step (the first has
        # nine): inside its transaction, so only the first session is stored.
        ("INSERT INTO STEPS:10", {1}, set()),
        # the third session's first lap (each session has two)
        ("INSERT INTO LAPS:5", {1, 2}, set()),
        # as the second session's COMMIT starts (the first COMMIT is the device row)
        ("COMMIT:3", {1}, set()),
        # the device has the ACK; the store has not noted it
        ("UPDATE SESSIONS SET ACKED:1", set(range(1, 6)), set(range(1, 6))),
        # acked and noted; the cursor not yet moved
        ("INSERT INTO SYNC_CURSORS:1", set(range(1, 6)), set(range(1, 6))),
    ],
)
def test_sigkill_inside_sqlite(
    tmp_path: Path, kill_sql: str, stored: set[int], acked: set[int]
) -> None:
    state, db = make_state(tmp_path), tmp_path / "repcue.db"
    proc = child(state, db, kill_sql=kill_sql)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    assert stored_ids(db) == stored  # the transaction the kill hit left nothing behind
    assert load_device(state, db).acked == acked
    rerun_and_check(state, db)
