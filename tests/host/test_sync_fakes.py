"""An in-memory stand-in for DeviceClient, for the sync tests (this module holds no tests).

It implements the contract's methods over a dict of session bytes built with the real record
codec (repcue_fw.wire.host.records), counts every message boundary (each request, each chunk of a
bulk read) and can fail or block at the Nth one. Acks can persist to a file, so a device
"survives" a host process that is SIGKILLed. Every ack is checked against the store file: a
session acked before it was committed is recorded in `violations`.

Run as a script (`python -m tests.host.test_sync_fakes STATE DB BLOCK_AT`) it is the child
process of the SIGKILL tests: it syncs, and at boundary BLOCK_AT prints BLOCKED and waits to
be killed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repcue.errors import DisconnectedError
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records as wr

DEVICE_ID = "c0ffee0123456789"

# warmup 10:00, 4 x (400 m at 3:00/km, 60 s jog) without the last jog, cooldown 5:00
PROGRAM = wp.Program(
    [
        wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600),
        wp.Repeat(
            4,
            [
                wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 400, wp.TARGET_PACE, 0, 1800),
                wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 60),
            ],
            True,
        ),
        wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 300),
    ]
)
PROGRAM_BYTES = wp.encode(PROGRAM)
PROGRAM_ID = wp.program_id(PROGRAM_BYTES)
REP_TIMES_MS = (72_000, 73_000, 74_500, 76_000)  # a fading runner


def make_session(
    session_id: int,
    *,
    complete: bool = True,
    start_wall_s: int = 1_760_000_000,
    steps: int | None = None,
    end_reason: int = wr.END_FINISHED,
) -> bytes:
    """The bytes a journal stores for one run of PROGRAM (session ids vary the times)."""
    recorded = [wr.StoredStep(0, wp.KIND_WARMUP, wr.END_TIME, 600, 600_000, [200_000, 400_000])]
    for rep, rep_ms in enumerate(REP_TIMES_MS):
        rep_ms += session_id  # every session's bytes differ
        recorded.append(wr.StoredStep(1 + 2 * rep, wp.KIND_WORK, wr.END_LAP, 400, rep_ms))
        if rep < 3:
            recorded.append(wr.StoredStep(2 + 2 * rep, wp.KIND_RECOVERY, wr.END_TIME, 60, 60_000))
    recorded.append(wr.StoredStep(8, wp.KIND_COOLDOWN, wr.END_TIME, 300, 300_000))
    if steps is not None:
        recorded = recorded[:steps]
    total = sum(s.elapsed_ms for s in recorded)
    session = wr.StoredSession(
        session_id,
        PROGRAM_ID,
        start_wall_s + session_id * 86_400,
        5_000,
        recorded,
        end_reason if complete else None,
        total + 2_000,
        2_000,
        1,
        7,
        2,
    )
    return wr.encode_session(session)


@dataclass(frozen=True)
class FakeInfo:
    device_id: str
    name: str
    board: str
    firmware_version: str
    protocol_version: int
    capabilities: int
    max_frame: int
    free_heap: int
    free_flash: int
    clock_s: int  # wall clock, 0 = never set


@dataclass(frozen=True)
class FakeEntry:
    session_id: int
    size_bytes: int
    complete: bool


FRAME_BYTES = 48  # small frames in the SIGKILL tests: many boundaries to die at


@dataclass
class FakeDevice:
    sessions: dict[int, bytes]
    complete: set[int]
    db_path: Path | None = None  # checked on every ack: only committed sessions may be acked
    acked: set[int] = field(default_factory=set)
    acked_file: Path | None = None
    frame_bytes: int = 160  # session bytes per READ_SESSIONS frame
    list_acked: bool = False  # a journal that reclaims lazily keeps listing acked sessions
    fail_at: int = 0  # raise DisconnectedError at this boundary (1-based; 0 never)
    block_at: int = 0  # print BLOCKED and sleep forever at this boundary (child process)
    clock_s: int = 1_770_000_000
    boundaries: int = 0
    violations: list[str] = field(default_factory=list)
    ack_calls: list[list[int]] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    authenticated: bool = True  # a cable, or an authenticated BLE link

    def _boundary(self) -> None:
        self.boundaries += 1
        if self.boundaries == self.block_at:
            sys.stdout.write("BLOCKED\n")
            sys.stdout.flush()
            while True:  # the test SIGKILLs us here
                time.sleep(1)
        if self.boundaries == self.fail_at:
            raise DisconnectedError(f"link cut at message {self.boundaries}")

    async def hello(self) -> FakeInfo:
        self._boundary()
        return FakeInfo(
            DEVICE_ID, "track-1", "sim", "0.1.0", 1, 0, 256, 50_000, 900_000, self.clock_s
        )

    async def read_sessions(self, after_id: int = 0) -> AsyncIterator[tuple[FakeEntry, bytes]]:
        """What DeviceClient.read_sessions yields (READ_SESSIONS): every listed session after
        after_id, whole, in id order, frame by frame (one message boundary each: a frame
        carries frame_bytes of session data)."""
        ids = sorted(
            sid
            for sid in self.sessions
            if sid > after_id and (self.list_acked or sid not in self.acked)
        )
        self._boundary()  # the first request
        room = self.frame_bytes
        for sid in ids:
            data = self.sessions[sid]
            left = len(data)
            while left > room:
                left -= room
                self._boundary()  # the next frame
                room = self.frame_bytes
            room -= left
            self.reads.append(sid)
            yield FakeEntry(sid, len(data), sid in self.complete), data
            await asyncio.sleep(0)

    async def ack_sessions(self, ids: Sequence[int]) -> None:
        self._boundary()
        ids = list(ids)
        self.ack_calls.append(ids)
        if self.db_path is not None:
            with sqlite3.connect(self.db_path) as conn:
                for sid in ids:
                    row = conn.execute(
                        "SELECT count(*) FROM sessions WHERE device_id = ? AND session_id = ?",
                        (DEVICE_ID, sid),
                    ).fetchone()
                    if row[0] != 1:
                        self.violations.append(f"session {sid} acked with {row[0]} stored copies")
            conn.close()
            if self.violations:
                raise AssertionError("; ".join(self.violations))
        self.acked.update(ids)
        if self.acked_file is not None:  # the device's durable acked set
            self.acked_file.write_text(json.dumps(sorted(self.acked)))


def save_state(path: Path, sessions: dict[int, bytes], complete: set[int]) -> None:
    state = {
        "sessions": {str(k): v.hex() for k, v in sessions.items()},
        "complete": sorted(complete),
    }
    path.write_text(json.dumps(state))


def load_device(state: Path, db_path: Path, **kwargs: object) -> FakeDevice:
    data = json.loads(state.read_text())
    acked_file = state.with_suffix(".acked")
    acked = set(json.loads(acked_file.read_text())) if acked_file.exists() else set()
    return FakeDevice(
        sessions={int(k): bytes.fromhex(v) for k, v in data["sessions"].items()},
        complete=set(data["complete"]),
        db_path=db_path,
        acked=acked,
        acked_file=acked_file,
        **kwargs,  # type: ignore[arg-type]
    )


def _child(argv: list[str]) -> int:
    """Sync once against the persisted device; block at a boundary or die inside SQLite."""
    from repcue.store import Store
    from repcue.sync import sync

    state, db, block_at, kill_sql = Path(argv[0]), Path(argv[1]), int(argv[2]), argv[3]
    device = load_device(state, db, block_at=block_at, list_acked=True, frame_bytes=FRAME_BYTES)
    store = Store(db)
    if kill_sql:
        # "STATEMENT:N": SIGKILL ourselves as SQLite starts the Nth statement that begins
        # with STATEMENT, i.e. inside a transaction or just before its COMMIT.
        import os
        import signal

        prefix, _, nth = kill_sql.rpartition(":")
        seen = [0]

        def trace(sql: str) -> None:
            if sql.lstrip().upper().startswith(prefix):
                seen[0] += 1
                if seen[0] == int(nth):
                    os.kill(os.getpid(), signal.SIGKILL)

        store._conn.set_trace_callback(trace)
    result = asyncio.run(sync(device, store))
    sys.stdout.write(f"DONE {len(result.added)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
