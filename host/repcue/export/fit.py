"""A session as a FIT activity file, written with Garmin's own garmin-fit-sdk Encoder.

Messages, in the order a watch writes them: file_id, device_info, the workout (workout and
workout_step, from the program the session ran), a timer start event, 1 Hz records, a timer
stop/start pair per pause, one lap per step, the session, the final timer stop and the activity.

The Encoder takes values in the profile's units (s, m, m/s) and scales them itself, but it
drops keys it does not know without a word: every key here is a field name of the profile
(sub-field names such as `duration_time` would vanish), tests read every field back.
"""

from __future__ import annotations

import array
import sys
from typing import Any

from garmin_fit_sdk import Encoder

from repcue.export.fit_encoder import FastEncoder
from repcue.export.timeline import Timeline
from repcue.export.workout import session_workout
from repcue.plan.fit_workout import write_workout

# global message numbers (Profile['mesg_num'])
FILE_ID, SESSION, LAP, RECORD, EVENT, DEVICE_INFO, ACTIVITY = 0, 18, 19, 20, 21, 23, 34
# profile enums
FILE_ACTIVITY = 4
MANUFACTURER_DEVELOPMENT = 255
SPORT_RUNNING = 1
SUB_SPORT_GENERIC, SUB_SPORT_TRACK = 0, 4
EVENT_TIMER, EVENT_LAP, EVENT_SESSION, EVENT_ACTIVITY = 0, 9, 8, 26
EVENT_START, EVENT_STOP, EVENT_STOP_ALL = 0, 1, 4
INTENSITY = {"active": 0, "rest": 1, "warmup": 2, "cooldown": 3}
LAP_TRIGGER = {"manual": 0, "time": 1, "distance": 2, "session_end": 7}
ACTIVITY_MANUAL = 0
FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z, where FIT time begins


def serial_number(device_id: str) -> int:
    """A uint32z serial from the device id (hex): its last 8 digits, never 0 (invalid)."""
    try:
        value = int(device_id[-8:], 16)
    except ValueError:
        value = sum(device_id.encode())
    return value & 0xFFFFFFFF or 1


def software_version(version: str) -> float | None:
    """ "1.2.3" -> 1.2 (the field holds major.minor in hundredths)."""
    parts = version.split(".")
    try:
        return int(parts[0]) + (int(parts[1]) if len(parts) > 1 else 0) / 100
    except ValueError:
        return None


class _Writer:
    def __init__(self, timeline: Timeline, *, fast: bool = True) -> None:
        self.t = timeline
        self.encoder: Any = FastEncoder() if fast else Encoder()
        self.fit_start = timeline.start_s - FIT_EPOCH_S
        self.fast = fast

    def stamp(self, offset_ms: int) -> int:
        """FIT timestamp (whole s) of a wall offset in ms since the session start."""
        return self.fit_start + offset_ms // 1000

    def write(self, mesg: dict[str, Any]) -> None:
        self.encoder.write_mesg(mesg)

    @staticmethod
    def _record(timestamp: int, distance_m: float | None, speed: float | None) -> dict[str, Any]:
        mesg: dict[str, Any] = {"mesg_num": RECORD, "timestamp": timestamp}
        if distance_m is not None and speed is not None:
            mesg["distance"] = distance_m
            mesg["speed"] = speed
        return mesg

    def lap_records(
        self, seconds: range, base_m: float, speed: float | None, start_ms: int
    ) -> None:
        """The records of one lap (`seconds` since the session start). An hour at 1 Hz is
        3,600 records: the lap's first goes through the Encoder, and the others, while it
        holds that local definition, are laid out column by column in the very bytes it
        writes (little-endian: header, timestamp uint32, distance uint32 cm, speed uint16
        mm/s; a test compares the files with the SDK's)."""
        if not seconds:
            return
        stamp0 = self.fit_start

        def at_m(second: int) -> float | None:
            if speed is None:
                return None
            return base_m + speed * (second * 1000 - start_ms) / 1000

        enc = self.encoder
        first = self._record(stamp0 + seconds[0], at_m(seconds[0]), speed)
        local = enc.holds(RECORD, first) if self.fast else -1
        rest = seconds
        if local < 0:  # the Encoder defines it with this lap's first record
            enc.write_mesg(first)
            rest = seconds[1:]
            local = enc.holds(RECORD, first) if self.fast else -1
        if local < 0:
            for second in rest:
                enc.write_mesg(self._record(stamp0 + second, at_m(second), speed))
            return
        if not rest:
            return
        columns = [
            bytes([local]) * len(rest),
            array.array("I", range(stamp0 + rest[0], stamp0 + rest[-1] + 1)),
        ]
        if speed is not None:
            # the SDK's own arithmetic: round((base + speed * t) * 100), t in s
            columns.append(
                array.array(
                    "I",
                    [round((base_m + speed * (s * 1000 - start_ms) / 1000) * 100) for s in rest],
                )
            )
            columns.append(array.array("H", [round(speed * 1000)]) * len(rest))
        enc.buffer().extend(_interleave(columns, len(rest)))

    def header(self) -> None:
        t = self.t
        serial = serial_number(t.device_id)
        end = self.stamp(t.elapsed_ms)
        self.write(
            {
                "mesg_num": FILE_ID,
                "type": FILE_ACTIVITY,
                "manufacturer": MANUFACTURER_DEVELOPMENT,
                "product": 0,
                "serial_number": serial,
                "time_created": end,
                "product_name": "repcue",
            }
        )
        self.write(
            {
                "mesg_num": DEVICE_INFO,
                "timestamp": self.fit_start,
                "device_index": 0,  # the creator
                "manufacturer": MANUFACTURER_DEVELOPMENT,
                "serial_number": serial,
                "product": 0,
                "software_version": software_version(t.firmware_version),
                "product_name": "repcue",
            }
        )

    def workout(self) -> list[int]:
        """The workout's messages; returns the workout step index of each run step."""
        if not self.t.program_bytes:
            return []
        workout = session_workout(self.t.program_bytes, self.t.session["plan"] or "")
        if workout is None:
            return []
        write_workout(self.encoder, workout.messages)  # the one workout encoder (plan export's)
        return workout.step_of_run

    def event(self, offset_ms: int, kind: int, event: int = EVENT_TIMER) -> None:
        self.write(
            {
                "mesg_num": EVENT,
                "timestamp": self.stamp(offset_ms),
                "event": event,
                "event_type": kind,
                "event_group": 0,
            }
        )

    def records(self) -> None:
        """1 Hz while the timer runs; a pause stops the records and the timer."""
        t = self.t
        pauses = list(t.pauses)
        distance_m = 0.0
        for lap in t.laps:
            while pauses and pauses[0].at_ms <= lap.start_ms:
                pause = pauses.pop(0)
                self.event(pause.at_ms, EVENT_STOP)
                self.event(pause.at_ms + pause.length_ms, EVENT_START)
            first_s = -(-lap.start_ms // 1000)  # the first whole second inside the lap
            seconds = range(first_s, (lap.end_ms - 1) // 1000 + 1)
            self.lap_records(seconds, distance_m, lap.speed_m_s, lap.start_ms)
            distance_m += lap.distance_m or 0.0
        for pause in pauses:  # after the last step (a one-step session)
            self.event(pause.at_ms, EVENT_STOP)
            self.event(pause.at_ms + pause.length_ms, EVENT_START)

    def laps(self, step_of_run: list[int]) -> None:
        sub_sport = SUB_SPORT_TRACK if self.t.track else SUB_SPORT_GENERIC
        for lap in self.t.laps:
            mesg: dict[str, Any] = {
                "mesg_num": LAP,
                "message_index": lap.index,
                "timestamp": self.stamp(lap.end_ms),
                "event": EVENT_LAP,
                "event_type": EVENT_STOP,
                "start_time": self.stamp(lap.start_ms),
                "total_elapsed_time": lap.timer_ms / 1000,
                "total_timer_time": lap.timer_ms / 1000,
                "intensity": INTENSITY[lap.intensity],
                "lap_trigger": LAP_TRIGGER[lap.trigger],
                "sport": SPORT_RUNNING,
                "sub_sport": sub_sport,
            }
            if lap.distance_m is not None:
                mesg["total_distance"] = lap.distance_m
                mesg["avg_speed"] = lap.speed_m_s
                mesg["enhanced_avg_speed"] = lap.speed_m_s
            if 0 <= lap.step_index < len(step_of_run):
                mesg["wkt_step_index"] = step_of_run[lap.step_index]
            self.write(mesg)

    def session(self) -> None:
        t = self.t
        end_ms = t.elapsed_ms
        mesg: dict[str, Any] = {
            "mesg_num": SESSION,
            "message_index": 0,
            "timestamp": self.stamp(end_ms),
            "event": EVENT_SESSION,
            "event_type": EVENT_STOP,
            "start_time": self.fit_start,
            "sport": SPORT_RUNNING,
            "sub_sport": SUB_SPORT_TRACK if t.track else SUB_SPORT_GENERIC,
            "total_elapsed_time": end_ms / 1000,
            "total_timer_time": t.timer_ms / 1000,
            "first_lap_index": 0,
            "num_laps": len(t.laps),
            "trigger": 0,  # activity_end
        }
        if t.distance_m:
            mesg["total_distance"] = t.distance_m
        self.write(mesg)
        self.event(end_ms, EVENT_STOP_ALL)
        self.write(
            {
                "mesg_num": ACTIVITY,
                "timestamp": self.stamp(end_ms),
                "total_timer_time": t.timer_ms / 1000,
                "num_sessions": 1,
                "type": ACTIVITY_MANUAL,
                "event": EVENT_ACTIVITY,
                "event_type": EVENT_STOP,
            }
        )


def _interleave(columns: list[Any], rows: int) -> bytearray:
    """Rows of fixed-size fields from columns of little-endian values (bytes or arrays)."""
    raws = []
    for column in columns:
        if isinstance(column, array.array):
            if sys.byteorder == "big":
                column.byteswap()
            raws.append((column.tobytes(), column.itemsize))
        else:
            raws.append((bytes(column), 1))
    width = sum(size for _, size in raws)
    out = bytearray(width * rows)
    at = 0
    for raw, size in raws:
        for byte in range(size):
            out[at + byte :: width] = raw[byte::size]
        at += size
    return out


def fit_activity(timeline: Timeline, *, fast: bool = True) -> bytes:
    """The FIT activity file of one session (`fast=False`: every message through the SDK's
    Encoder as it is, CRC included, for the test that the fast paths write the same bytes)."""
    w = _Writer(timeline, fast=fast)
    w.header()
    step_of_run = w.workout()
    w.event(0, EVENT_START)
    w.records()
    w.laps(step_of_run)
    w.session()
    data: bytes = w.encoder.close()
    return bytes(data)
