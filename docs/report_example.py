"""Three weeks of real sessions for the README's `repcue week`, `repcue report` and
`repcue trend`: the firmware runs in the virtual device on its stepped clock, a virtual runner
presses lap (getting fitter week by week, tiring a little each rep), the device's clock is set
to the session's day before each start, and each session is synced into a store.

    .venv/bin/python docs/report_example.py STORE.db
    .venv/bin/repcue week --db STORE.db --weeks 3 --until 2026-11-22
    .venv/bin/repcue report 7 --db STORE.db -o docs/report-example.png

The schedule breaks the guidance on purpose: two hard days in a row in the second week, three
anaerobic sessions in the third. tests/e2e/test_e2e_reports.py runs a part of it.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import AutopilotOptions, SimOptions, VirtualDevice
from repcue.sim.autopilot import run_to_finish

PROFILE = '[races]\n5k = "20:00"\n'  # 5k pace 4:00/km
PLANS = {
    "track 6x400": "10min wu, 6x400m @5k w/ 90s jog, 10min cd",
    "hills 8x60s": "15min wu, 8x60s hard w/ 2min jog, 10min cd",
    "tempo 25": "10min wu, 25min steady, 10min cd",
    "easy 40": "40min easy",
}
# (day, plan, the runner's pace factor on work reps: below 1 is faster than the target)
SCHEDULE: tuple[tuple[str, str, float], ...] = (
    ("2026-11-03", "track 6x400", 1.03),
    ("2026-11-05", "easy 40", 1.0),
    ("2026-11-07", "hills 8x60s", 1.0),
    ("2026-11-10", "track 6x400", 1.0),
    ("2026-11-11", "tempo 25", 1.0),
    ("2026-11-13", "hills 8x60s", 1.0),
    ("2026-11-16", "track 6x400", 0.98),
    ("2026-11-18", "hills 8x60s", 1.0),
    ("2026-11-20", "track 6x400", 0.97),
)


def noon(day: str) -> int:
    """12:00 UTC: the same calendar day in every time zone within 11 hours of UTC."""
    return int(datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).timestamp())


async def _one(
    flash: Path, folder: Path, db: Path, day: str, plan: str, pace: float, stop_ms: int | None
) -> None:
    runner = AutopilotOptions(tire_frac=0.01, pace_factor=pace, noise_frac=0.01, seed=len(day))
    options = SimOptions(flash=flash, clock="stepped", autopilot=runner, device_id="5e55105e")
    device = VirtualDevice(options)
    device.start()
    quiet = Console(file=io.StringIO())
    try:
        async with DeviceClient(SerialTransport(device.pty_path)) as dev:  # type: ignore[arg-type]
            await upload_plan(
                dev,
                PLANS[plan],
                plan,
                profile_path=folder / "profile.toml",
                fmt="auto",
                db=str(db),
                out=quiet,
            )
            await dev.set_time(noon(day))  # the session's day, not today
            await dev.start()
            if stop_ms is None:
                await asyncio.to_thread(run_to_finish, device, chunk_ms=3_600_000)
            else:  # the runner stops it this far in (the session is saved, as `stopped`)
                await asyncio.to_thread(device.require_control().advance, stop_ms)
                await dev.stop()
            await run_sync(dev, str(db), quiet)
    finally:
        device.stop()


def record(
    db: Path,
    schedule: Sequence[tuple[str, str, float]] = SCHEDULE,
    stop_ms: Mapping[str, int] | None = None,
) -> None:
    """Run and sync each scheduled session into the store at `db` (rows in schedule order);
    a day in `stop_ms` has its session stopped that many ms after the start."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "profile.toml").write_text(PROFILE)
        for day, plan, pace in schedule:
            stop = (stop_ms or {}).get(day)
            asyncio.run(_one(folder / "flash.img", folder, db, day, plan, pace, stop))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report_example.py STORE.db")
    record(Path(sys.argv[1]))
