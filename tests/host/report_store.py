"""Stores of sessions for the report/week/trend tests: plans compiled from text, run on a
made-up clock (every step lasts its planned time unless the test says how long a rep took)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from repcue.plan import parse, program_bytes
from repcue.store import SessionData, StepData, Store
from repcue_fw.wire.host import program as wp
from repcue_fw.wire.steps import Cursor, expected_ms

DEVICE_ID = "0a1b2c3d4e5f"

PLANS = {
    "track 6x400": "10min wu, 6x400m @5k w/ 90s jog, 10min cd",
    "tempo 25": "10min wu, 25min steady, 10min cd",
    "easy 40": "40min easy",
    "hills 8x60s": "15min wu, 8x60s hard w/ 2min jog, 10min cd",
}
PROFILE_5K = "4:00/km"  # the profile the tests use: 5k pace, so `@5k` reps have a target


def noon(day: str) -> int:
    """Epoch seconds at 12:00 UTC of an ISO day (a local day in any zone within 11 h)."""
    return int(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).timestamp())


class Builder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.next_id = 1
        store.upsert_device(DEVICE_ID, name="track-1", board="sim")

    def program(self, name: str) -> bytes:
        from repcue.plan.profile import parse_profile

        profile = parse_profile(f'[paces]\n5k = "{PROFILE_5K}"\n')
        data = program_bytes(parse(PLANS[name], name=name), profile)
        self.store.add_program(data, plan_name=name, plan_text=PLANS[name])
        return data

    def add(
        self,
        name: str,
        day: str | None,
        rep_ms: Sequence[int] = (),
        *,
        stop_after: int | None = None,
        end_reason: str | None = None,
        paused_ms: int = 0,
        pauses: int = 0,
    ) -> int:
        """One session of plan `name` on `day` (None: an unset device clock); work reps take
        rep_ms in turn (ended with a lap press) or their planned time."""
        data = self.program(name)
        cursor = Cursor(data)
        steps: list[StepData] = []
        reps = iter(rep_ms)
        while (step := cursor.next()) is not None:
            kind = wp.KIND_NAMES[step.kind]
            planned_ms = expected_ms(step)
            end = "time" if step.end == wp.END_TIME else "lap"
            elapsed = planned_ms
            if kind == "work":
                elapsed = next(reps, planned_ms)
            steps.append(StepData(len(steps), kind, end, step.value, elapsed))
            if stop_after is not None and len(steps) == stop_after:
                last = steps[-1]
                steps[-1] = StepData(last.index, last.kind, "stop", last.planned, last.elapsed_ms)
                break
        session = SessionData(
            session_id=self.next_id,
            program_id=wp.program_id(data),
            start_wall_s=noon(day) if day else None,
            start_uptime_ms=1000,
            total_ms=sum(s.elapsed_ms for s in steps),
            paused_ms=paused_ms,
            pauses=pauses,
            late_max_ms=3,
            late_mean_ms=1,
            end_reason=end_reason or ("stopped" if stop_after else "finished"),
            steps=tuple(steps),
        )
        self.next_id += 1
        row = self.store.add_session(DEVICE_ID, session)
        assert row is not None
        return row
