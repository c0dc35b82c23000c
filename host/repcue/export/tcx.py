"""A session as a TCX file (Garmin's Training Center XML v2), with the standard library.

One Activity (Sport="Running"), one Lap per step in the schema's element order: StartTime,
TotalTimeSeconds (the step's active time), DistanceMeters (0 where the step's distance is not
known: the schema wants the element), Calories (0: not measured; also required), Intensity
(Active, or Resting for recoveries and rests), TriggerMethod, then a Track of 1 Hz Trackpoints
(Time, and DistanceMeters where known; no Position: the device has no GPS). TCX has no pause:
the paused time is a gap between trackpoints.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from repcue.export.fit import serial_number
from repcue.export.timeline import Lap, Timeline

NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TRIGGER = {"time": "Time", "distance": "Distance", "manual": "Manual", "session_end": "Manual"}


def iso_z(when: datetime) -> str:
    """2026-12-05T14:00:03.250Z (ms only when there are any)."""
    text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@functools.cache
def _minutes_seconds() -> tuple[str, ...]:
    """ "MM:SS" for each second of an hour (3,600 short strings, made once)."""
    return tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def _trackpoints(out: list[str], t: Timeline, lap: Lap, distance_before_m: float) -> None:
    """1 Hz points, written as text: an hour is 3,600 of them, and building them as
    ElementTree elements cost ~25 us each (bench/export.py)."""
    speed = lap.speed_m_s
    first_s = -(-lap.start_ms // 1000)
    mmss = _minutes_seconds()
    hour = -1
    prefix = ""
    for second in range(first_s, (lap.end_ms - 1) // 1000 + 1):
        at_hour, in_hour = divmod(t.start_s + second, 3600)
        if at_hour != hour:  # "<date>T<HH>:" changes once an hour
            hour = at_hour
            prefix = time.strftime("%Y-%m-%dT%H:", time.gmtime(hour * 3600))
        if speed is None:
            out.append(
                f"     <Trackpoint>\n      <Time>{prefix}{mmss[in_hour]}Z</Time>\n"
                "     </Trackpoint>\n"
            )
            continue
        covered = f"{distance_before_m + speed * (second * 1000 - lap.start_ms) / 1000:.3f}"
        out.append(
            f"     <Trackpoint>\n      <Time>{prefix}{mmss[in_hour]}Z</Time>\n"
            f"      <DistanceMeters>{covered.rstrip('0').rstrip('.')}</DistanceMeters>\n"
            "     </Trackpoint>\n"
        )


def _lap(out: list[str], t: Timeline, lap: Lap, distance_before_m: float) -> None:
    out.append(f"   <Lap StartTime={quoteattr(iso_z(t.wall(lap.start_ms)))}>\n")
    out.append(f"    <TotalTimeSeconds>{_number(lap.timer_ms / 1000)}</TotalTimeSeconds>\n")
    out.append(f"    <DistanceMeters>{_number(lap.distance_m or 0.0)}</DistanceMeters>\n")
    out.append("    <Calories>0</Calories>\n")
    intensity = "Resting" if lap.intensity == "rest" else "Active"
    out.append(f"    <Intensity>{intensity}</Intensity>\n")
    out.append(f"    <TriggerMethod>{TRIGGER[lap.trigger]}</TriggerMethod>\n")
    out.append("    <Track>\n")
    _trackpoints(out, t, lap, distance_before_m)
    out.append("    </Track>\n")
    note = f"step {lap.step_index + 1}: {lap.kind}, ended by {lap.end_reason}"
    out.append(f"    <Notes>{escape(note)}</Notes>\n   </Lap>\n")


def tcx_text(t: Timeline) -> str:
    """The TCX document of one session (UTF-8, with its XML declaration), in the schema's
    element order, indented one space a level."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<TrainingCenterDatabase xmlns={quoteattr(NS)} xmlns:xsi={quoteattr(XSI)}>\n",
        " <Activities>\n",
        '  <Activity Sport="Running">\n',
        f"   <Id>{iso_z(t.wall(0))}</Id>\n",
    ]
    covered_m = 0.0
    for lap in t.laps:
        _lap(out, t, lap, covered_m)
        covered_m += lap.distance_m or 0.0
    plan = t.session["plan"]
    if plan:
        out.append(f"   <Notes>{escape(plan)}</Notes>\n")
    parts = [*t.firmware_version.split("."), "0", "0"]
    major = parts[0] if parts[0].isdigit() else "0"
    minor = parts[1] if parts[1].isdigit() else "0"
    out += [
        '   <Creator xsi:type="Device_t">\n',
        "    <Name>repcue</Name>\n",
        f"    <UnitId>{serial_number(t.device_id)}</UnitId>\n",
        "    <ProductID>0</ProductID>\n",
        "    <Version>\n",
        f"     <VersionMajor>{major}</VersionMajor>\n",
        f"     <VersionMinor>{minor}</VersionMinor>\n",
        "    </Version>\n",
        "   </Creator>\n",
        "  </Activity>\n",
        " </Activities>\n",
        "</TrainingCenterDatabase>\n",
    ]
    return "".join(out)
