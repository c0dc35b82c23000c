"""The athlete profile: race results and paces, and the named paces derived from them.

The profile is TOML in the user's config dir (platformdirs), e.g.

    [races]             # recent results: distance = "time"
    5k = "19:30"
    half = "1:29:00"
    [paces]             # or paces directly, per km or per mile
    threshold = "4:05/km"

Named paces missing from the file are derived with Riegel's formula T2 = T1 * (D2/D1)^1.06
from the known result nearest in distance; threshold is the pace of a one-hour race, easy is
marathon pace + 75 s/km.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from repcue.errors import ProfileError
from repcue.plan.model import PACE_NAMES, Pace
from repcue.plan.units import MILE_M, RACE_DISTANCES_M, clock_seconds, fmt_clock, fmt_pace

RIEGEL_EXPONENT = 1.06
EASY_OFFSET_S_PER_KM = 75.0  # middle of the usual 60-90 s/km slower than marathon pace
HOUR_S = 3600.0
MIN_PACE_S_PER_KM = 90.0  # 1:30/km: faster is a typo, not an athlete
MAX_PACE_S_PER_KM = 1200.0  # 20:00/km

_RACE_ALIASES = {"hm": "half", "half-marathon": "half", "halfmarathon": "half", "mar": "marathon"}
_DISTANCE_KEY = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|km|k|mi)$")
_PACE_TEXT = re.compile(r"^(\d+:\d\d)\s*(?:/\s*(km|mi|mile))?$")


def default_profile_path() -> Path:
    return platformdirs.user_config_path("repcue") / "profile.toml"


@dataclass(frozen=True)
class PaceValue:
    s_per_km: float
    source: str  # how we know it: "5k race 19:30", "Riegel from 5k 19:30", ...


@dataclass(frozen=True)
class NamedPaces:
    """Named pace -> value, for those the profile gives or implies; the rest are unknown."""

    values: Mapping[str, PaceValue] = field(default_factory=dict)
    path: Path | None = None  # the profile file they came from

    def get(self, name: str) -> float | None:
        value = self.values.get(name)
        return value.s_per_km if value else None

    def pace_of(self, target: Pace) -> float | None:
        """The s/km a pace target means, or None when it depends on an unknown named pace."""
        if not target.name:
            return target.s_per_km
        named = self.get(target.name)
        return None if named is None else named * 100.0 / target.percent


@dataclass(frozen=True)
class Race:
    label: str
    distance_m: float
    time_s: float


@dataclass(frozen=True)
class Profile:
    races: tuple[Race, ...] = ()
    paces_s_per_km: Mapping[str, float] = field(default_factory=dict)
    path: Path | None = None

    def named_paces(self) -> NamedPaces:
        return NamedPaces(derive_paces(self.races, self.paces_s_per_km), self.path)


def riegel_time_s(race: Race, distance_m: float) -> float:
    return race.time_s * float((distance_m / race.distance_m) ** RIEGEL_EXPONENT)


def derive_paces(races: tuple[Race, ...], given: Mapping[str, float]) -> dict[str, PaceValue]:
    """Every named pace that the races and given paces determine."""
    out: dict[str, PaceValue] = {}
    known = list(races)
    # A given race pace is as good as a result at that distance.
    for name, dist in RACE_DISTANCES_M.items():
        if name in given and not any(r.distance_m == dist for r in known):
            known.append(Race(f"{name} pace", dist, given[name] * dist / 1000.0))
    if "threshold" in given and not known:
        pace = given["threshold"]
        known.append(Race("threshold pace", HOUR_S / pace * 1000.0, HOUR_S))
    for name, dist in RACE_DISTANCES_M.items():
        if name in given:
            out[name] = PaceValue(given[name], "profile pace")
        elif known:
            race = _nearest(known, dist)
            time_s = race.time_s if race.distance_m == dist else riegel_time_s(race, dist)
            how = f"{race.label} {fmt_clock(race.time_s)}"
            source = how if race.distance_m == dist else f"Riegel from {how}"
            out[name] = PaceValue(time_s / dist * 1000.0, source)
    if "threshold" in given:
        out["threshold"] = PaceValue(given["threshold"], "profile pace")
    elif known:
        # The race whose one-hour distance is closest to its own distance predicts it best.
        def hour_distance_m(race: Race) -> float:
            return race.distance_m * float((HOUR_S / race.time_s) ** (1 / RIEGEL_EXPONENT))

        race = min(known, key=lambda r: abs(math.log(hour_distance_m(r) / r.distance_m)))
        pace = HOUR_S / hour_distance_m(race) * 1000.0
        out["threshold"] = PaceValue(pace, f"one-hour race pace, Riegel from {race.label}")
    if "easy" in given:
        out["easy"] = PaceValue(given["easy"], "profile pace")
    elif "marathon" in out:
        pace = out["marathon"].s_per_km + EASY_OFFSET_S_PER_KM
        out["easy"] = PaceValue(pace, f"marathon pace + {EASY_OFFSET_S_PER_KM:.0f} s/km")
    return out


def _nearest(races: list[Race], distance_m: float) -> Race:
    return min(races, key=lambda r: abs(math.log(distance_m / r.distance_m)))


def load_profile(path: Path | None = None) -> Profile | None:
    """The profile at `path` (must exist), else the default one if there is one, else None."""
    target = path if path is not None else default_profile_path()
    if not target.exists():
        if path is not None:
            raise ProfileError(f"profile {target} does not exist")
        return None
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {target}: {exc.strerror}") from exc
    return parse_profile(text, target)


def parse_profile(text: str, path: Path | None = None) -> Profile:
    where = str(path) if path else "profile"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where} is not valid TOML: {exc}") from exc
    unknown = set(data) - {"races", "paces", "name"}
    if unknown:
        raise ProfileError(
            f"{where}: unknown section {sorted(unknown)[0]!r}; expected [races] or [paces]"
        )
    races = tuple(_race(where, k, v) for k, v in _table(where, data, "races").items())
    paces: dict[str, float] = {}
    for key, value in _table(where, data, "paces").items():
        name = _RACE_ALIASES.get(key.lower(), key.lower())
        if name not in PACE_NAMES:
            raise ProfileError(
                f"{where}: unknown pace {key!r}; expected one of {', '.join(PACE_NAMES)}"
            )
        paces[name] = _pace(where, f"paces.{key}", value)
    return Profile(races, paces, path)


def _table(where: str, data: Mapping[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: [{key}] must be a table of name = value")
    return value


def _race(where: str, key: str, value: object) -> Race:
    name = _RACE_ALIASES.get(key.lower(), key.lower())
    if name in RACE_DISTANCES_M:
        distance_m = RACE_DISTANCES_M[name]
    else:
        match = _DISTANCE_KEY.match(name)
        if not match:
            raise ProfileError(
                f"{where}: races.{key}: expected a race such as 5k, half, marathon or 1500m"
            )
        scale = {"m": 1.0, "km": 1000.0, "k": 1000.0, "mi": MILE_M}[match.group(2)]
        distance_m = float(match.group(1)) * scale
    time_s = _seconds(where, f"races.{key}", value)
    if not distance_m > 0:
        raise ProfileError(f"{where}: races.{key}: expected a distance above zero")
    pace = time_s / distance_m * 1000.0
    _check_pace(where, f"races.{key}", pace)
    return Race(f"{name} race", distance_m, time_s)


def _seconds(where: str, key: str, value: object) -> float:
    if isinstance(value, bool):
        raise ProfileError(f'{where}: {key}: expected a time like "19:30" or "1:29:00"')
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(clock_seconds(value.strip()))
        except ValueError as exc:
            raise ProfileError(f"{where}: {key}: {exc}") from exc
    raise ProfileError(f'{where}: {key}: expected a time like "19:30" or "1:29:00"')


def _pace(where: str, key: str, value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        pace = float(value)
    elif isinstance(value, str) and (match := _PACE_TEXT.match(value.strip().lower())):
        pace = float(clock_seconds(match.group(1)))
        if match.group(2) in ("mi", "mile"):
            pace = pace * 1000.0 / MILE_M
    else:
        raise ProfileError(f'{where}: {key}: expected a pace like "4:05/km" or "6:30/mi"')
    _check_pace(where, key, pace)
    return pace


def _check_pace(where: str, key: str, pace: float) -> None:
    if not MIN_PACE_S_PER_KM <= pace <= MAX_PACE_S_PER_KM:
        raise ProfileError(
            f"{where}: {key} means {fmt_pace(pace)}: expected a pace between "
            f"{fmt_pace(MIN_PACE_S_PER_KM)} and {fmt_pace(MAX_PACE_S_PER_KM)}"
        )
