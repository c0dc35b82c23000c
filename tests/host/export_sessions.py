"""Stored sessions for the export tests, made the way a device makes them: a plan compiled to
program bytes, run step by step by the engine's own Cursor, recorded with the session record
encoder the firmware and host share (wire/host/records.py), decoded by sync's adapter and
stored. Normal, power-lost, stopped, paused and 999-rep runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repcue import plan
from repcue.store import Store
from repcue.sync import decode_session_bytes
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records as wr
from repcue_fw.wire.steps import Cursor

DEVICE_ID = "51fd58aca55e"
START_S = 1_764_931_200  # 2025-12-05T10:40:00Z
TRACK = "name: Tuesday track\n10min wu\n6x800m @3:45/km w/ 90s jog\n8min cd"
PAUSED = "name: Tempo\n10min wu\n3x(2km @4:10/km w/ 2min jog)\n5min cd"
HILLS = "name: Hills\nhills 6x45s hard, jog down"
REPS_999 = "name: Long ladder\n999x100m @3:00/km w/ 15s jog"


@dataclass(frozen=True)
class Made:
    row_id: int
    program: bytes
    steps: list[wr.StoredStep]


def program_of(text: str) -> bytes:
    return plan.program_bytes(plan.parse(text))


def run(
    program: bytes, *, stop_after: int | None = None, slower_ms: int = 0
) -> list[wr.StoredStep]:
    """The steps a runner records: time steps last their time, distance steps the target
    pace plus `slower_ms` a rep over the first ten (a fade), open steps 40.5 s; with
    `stop_after` the run ends early, its last step stopped halfway."""
    cursor = Cursor(program)
    out: list[wr.StoredStep] = []
    rep = 0
    while (step := cursor.next()) is not None:
        index = len(out)
        if step.end == wp.END_TIME:
            elapsed, end = step.value * 1000, wr.END_TIME
        elif step.end == wp.END_DISTANCE:
            pace = step.target_value / 10 if step.target_type == wp.TARGET_PACE else 300.0
            elapsed = round(pace * step.value) + min(rep, 10) * slower_ms + 7
            end = wr.END_LAP
        else:
            elapsed, end = 40_500, wr.END_LAP
        if step.kind == wp.KIND_WORK:
            rep += 1
        if stop_after is not None and index == stop_after - 1:
            elapsed, end = elapsed // 2, wr.END_STOP
        laps = [elapsed // 2] if step.kind == wp.KIND_WARMUP else []
        out.append(wr.StoredStep(index, step.kind, end, step.value, elapsed, laps))
        if stop_after is not None and index == stop_after - 1:
            break
    return out


def store_session(
    store: Store,
    session_id: int,
    text: str,
    *,
    end: int | None = wr.END_FINISHED,
    stop_after: int | None = None,
    paused_ms: int = 0,
    pauses: int = 0,
    start_s: int | None = START_S,
    slower_ms: int = 1500,
) -> Made:
    """Record one run of plan `text` with the shared encoder and store it as sync would.
    `end=None`: no END record (the power went); `start_s=None`: the clock was never set."""
    program = program_of(text)
    steps = run(program, stop_after=stop_after, slower_ms=slower_ms)
    active = sum(s.elapsed_ms for s in steps)
    session = wr.StoredSession(
        session_id,
        wp.program_id(program),
        start_s or 0,
        5_000,
        steps,
        end,
        active + paused_ms,
        paused_ms,
        pauses,
        40,
        12,
        program,
    )
    data = decode_session_bytes(wr.encode_session(session), session_id)
    row = store.add_session(DEVICE_ID, data)
    assert row is not None
    return Made(row, program, steps)


def new_store(path: Path) -> Store:
    store = Store(path)
    store.upsert_device(DEVICE_ID, name="repcue-a55e", board="sim", firmware_version="0.4.2")
    return store
