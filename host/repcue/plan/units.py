"""Units of time, distance and pace: the words plans use for them, and how we print them."""

from __future__ import annotations

MILE_M = 1609.344

TIME_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
}
DISTANCE_UNITS: dict[str, float] = {
    "mtr": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "k": 1000.0,
    "km": 1000.0,
    "kms": 1000.0,
    "mi": MILE_M,
    "mile": MILE_M,
    "miles": MILE_M,
}
# Bare `m` is minutes below this number (`10m`) and metres from it up (`400m`).
M_METRES_FROM = 100

MAX_DURATION_S = 24 * 3600
MAX_DISTANCE_M = 1_000_000

# Race distances of the named paces that are races.
RACE_DISTANCES_M: dict[str, float] = {
    "mile": MILE_M,
    "3k": 3000.0,
    "5k": 5000.0,
    "10k": 10000.0,
    "half": 21097.5,
    "marathon": 42195.0,
}


def clock_seconds(text: str) -> int:
    """`1:30` -> 90, `1:05:00` -> 3900. ValueError names what is wrong."""
    parts = text.split(":")
    if len(parts) > 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected a time like 1:30 or 1:05:00, got '{text}'")
    total = 0
    for i, part in enumerate(parts):
        value = int(part)
        if i > 0 and (len(part) != 2 or value >= 60):
            raise ValueError(f"expected two-digit seconds and minutes below 60 in '{text}'")
        total = total * 60 + value
    return total


def fmt_clock(seconds: float) -> str:
    """90 -> `1:30`, 3900 -> `1:05:00`."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def fmt_duration(seconds: int) -> str:
    """The plan-language spelling: 90 -> `90s`, 600 -> `10min`, 150 -> `2:30`."""
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds // 60}min"
    if seconds < 120:
        return f"{seconds}s"
    return fmt_clock(seconds)


def fmt_distance(metres: float) -> str:
    if (metres >= 1000 and metres % 100 == 0) or metres > 10000:
        return f"{metres / 1000:g} km"
    return f"{metres:.0f} m"


def fmt_pace(s_per_km: float) -> str:
    return f"{fmt_clock(s_per_km)}/km"
