"""A session as a TCX file (Garmin's Training Center XML v2), with the standard library.

One Activity (Sport="Running"), one Lap per step in the schema's element order: StartTime,
TotalTimeSeconds (the step's active time), DistanceMeters (0 where the step's distance is not
known: the schema wants the element), Calories (0: not measured; also required), Intensity
(Active, or Resting for recoveries and rests), TriggerMethod, then a Track of 1 Hz Trackpoints
(Time, and DistanceMeters where known; no Position: the device has no GPS). TCX has no pause:
the paused time is a gap between trackpoints.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import datetime

from repcue.export.fit import serial_number
from repcue.export.timeline import Lap, Timeline

NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TRIGGER = {"time": "Time", "distance": "Distance", "manual": "Manual", "session_end": "Manual"}


def iso_z(when: datetime) -> str:
    """2026-12-05T14:00:03.250Z (ms only when there are any)."""
    text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def _second_z(unix_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_s))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    # plain tags under a root that declares the namespace: the same document, written
    # without the serializer's per-element namespace work (three times faster)
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = text
    return node


def _lap(activity: ET.Element, t: Timeline, lap: Lap, distance_before_m: float) -> None:
    node = _sub(activity, "Lap")
    node.set("StartTime", iso_z(t.wall(lap.start_ms)))
    _sub(node, "TotalTimeSeconds", _number(lap.timer_ms / 1000))
    _sub(node, "DistanceMeters", _number(lap.distance_m or 0.0))
    _sub(node, "Calories", "0")
    _sub(node, "Intensity", "Resting" if lap.intensity == "rest" else "Active")
    _sub(node, "TriggerMethod", TRIGGER[lap.trigger])
    track = _sub(node, "Track")
    speed = lap.speed_m_s
    first_s = -(-lap.start_ms // 1000)
    sub = ET.SubElement
    for second in range(first_s, (lap.end_ms - 1) // 1000 + 1):
        point = sub(track, "Trackpoint")
        sub(point, "Time").text = _second_z(t.start_s + second)
        if speed is not None:
            covered = speed * (second * 1000 - lap.start_ms) / 1000
            sub(point, "DistanceMeters").text = _number(distance_before_m + covered)
    _sub(node, "Notes", f"step {lap.step_index + 1}: {lap.kind}, ended by {lap.end_reason}")


def tcx_element(t: Timeline) -> ET.Element:
    root = ET.Element("TrainingCenterDatabase", {"xmlns": NS, "xmlns:xsi": XSI})
    activity = _sub(_sub(root, "Activities"), "Activity")
    activity.set("Sport", "Running")
    _sub(activity, "Id", iso_z(t.wall(0)))
    covered_m = 0.0
    for lap in t.laps:
        _lap(activity, t, lap, covered_m)
        covered_m += lap.distance_m or 0.0
    plan = t.session["plan"]
    if plan:
        _sub(activity, "Notes", plan)
    creator = _sub(activity, "Creator")
    creator.set("xsi:type", "Device_t")
    _sub(creator, "Name", "repcue")
    _sub(creator, "UnitId", str(serial_number(t.device_id)))
    _sub(creator, "ProductID", "0")
    version = _sub(creator, "Version")
    parts = [*t.firmware_version.split("."), "0", "0"]
    major = parts[0] if parts[0].isdigit() else "0"
    minor = parts[1] if parts[1].isdigit() else "0"
    _sub(version, "VersionMajor", major)
    _sub(version, "VersionMinor", minor)
    return root


def tcx_text(t: Timeline) -> str:
    """The TCX document of one session (UTF-8, with its XML declaration)."""
    root = tcx_element(t)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
