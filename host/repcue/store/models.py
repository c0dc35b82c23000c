"""The typed rows the store takes and gives back: frozen dataclasses, nothing mutable.

`SessionData`/`StepData` are what sync hands in (already decoded from the device's record
format); the `*Record`/`SessionSummary` types are what readers get out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepData:
    """One recorded step as the device journal wrote it."""

    index: int  # position in the program's unrolled step sequence
    kind: str  # warmup, work, recovery, rest, cooldown
    end_reason: str  # time, lap, skip, stop
    planned: int  # the program's value: seconds, metres, or estimated seconds (open)
    elapsed_ms: int
    laps_ms: tuple[int, ...] = ()


@dataclass(frozen=True)
class SessionData:
    """One whole session from a device, ready to be stored in one transaction."""

    session_id: int  # the device's id, unique per device
    program_id: int  # CRC-32 trailer of the program that ran
    start_wall_s: int | None  # epoch seconds; None when the device did not know the time
    start_uptime_ms: int
    total_ms: int
    paused_ms: int
    pauses: int
    late_max_ms: int
    late_mean_ms: int
    end_reason: str  # finished, stopped, power_lost
    steps: tuple[StepData, ...]
    program: bytes = b""  # the program that ran, when the session carried it (checked)


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    name: str
    board: str
    firmware_version: str
    first_seen_s: int
    last_seen_s: int


@dataclass(frozen=True)
class ProgramRecord:
    program_id: int
    plan_name: str
    plan_text: str
    program_bytes: bytes
    seed: int | None
    created_s: int


@dataclass(frozen=True)
class SessionSummary:
    """A stored session without its steps: one line of `repcue history`."""

    row_id: int  # the store's own id, what `repcue show` takes
    device_id: str
    device_name: str
    session_id: int
    program_id: int
    plan_name: str | None  # the plan the session ran, as named when it was synced
    start_wall_s: int | None
    synced_s: int
    total_ms: int
    paused_ms: int
    pauses: int
    late_max_ms: int
    late_mean_ms: int
    end_reason: str
    step_count: int
    work_done: int  # work steps that ran to their end (not skipped or stopped)
    acked: bool


@dataclass(frozen=True)
class StepRecord:
    seq: int  # order in which the device recorded it
    index: int
    kind: str
    end_reason: str
    planned: int
    elapsed_ms: int
    laps_ms: tuple[int, ...]
