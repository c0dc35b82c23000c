"""A session as a FIT activity file, written with Garmin's own garmin-fit-sdk Encoder.

Messages, in the order a watch writes them: file_id, device_info, the workout (workout and
workout_step, from the program the session ran), a timer start event, 1 Hz records, a timer
stop/start pair per pause, one lap per step, the session, the final timer stop and the activity.

The Encoder takes values in the profile's units (s, m, m/s) and scales them itself, but it
drops keys it does not know without a word: every key here is a field name of the profile
(sub-field names such as `duration_time` would vanish), tests read every field back.
"""

from __future__ import annotations

import struct
from typing import Any, cast

from garmin_fit_sdk import Encoder

from repcue.export.fit_workout import workout_from_bytes
from repcue.export.timeline import Timeline

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


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def fit_crc(data: bytes | bytearray, crc: int = 0) -> int:
    """FIT's CRC-16 (poly 0xA001 reflected, init 0) a byte at a time: the SDK's own works a
    nibble at a time through a call per byte, 1 ms per KB, most of an export's time."""
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


class _Encoder(Encoder):
    """The SDK's Encoder with a table CRC at close (the same CRC: tests compare the files)."""

    def close(self) -> bytes:
        me = cast(Any, self)  # the SDK's stubs leave out its private parts
        me._update_file_header()
        me._output_stream.write_uint16(fit_crc(me._output_stream._buffer))
        data: bytes = me._output_stream.data
        return data


# a record's data message as the Encoder writes it (little-endian): header, then the fields in
# the order of the dict: timestamp uint32, distance uint32 (cm), speed uint16 (mm/s)
_RECORD_LAYOUT = {1: struct.Struct("<BI"), 3: struct.Struct("<BIIH")}


class _Writer:
    def __init__(self, timeline: Timeline, *, fast_records: bool = True) -> None:
        self.t = timeline
        self.encoder: Any = _Encoder() if fast_records else Encoder()
        self.fit_start = timeline.start_s - FIT_EPOCH_S
        self.fast_records = fast_records
        self._record_defs: dict[int, Any] = {}  # field count -> the Encoder's local definition

    def stamp(self, offset_ms: int) -> int:
        """FIT timestamp (whole s) of a wall offset in ms since the session start."""
        return self.fit_start + offset_ms // 1000

    def write(self, mesg: dict[str, Any]) -> None:
        self.encoder.write_mesg(mesg)

    def record(self, timestamp: int, distance_m: float | None, speed: float | None) -> None:
        """One record. The Encoder takes ~50 us a message (it rebuilds the definition from the
        profile each time): an hour at 1 Hz would cost 180 ms. So the first record of each
        shape goes through it, and the next ones, while the Encoder still holds that local
        definition, are packed in the very bytes it writes (a test compares the two files)."""
        fields = 1 if distance_m is None or speed is None else 3
        enc = self.encoder
        known = self._record_defs.get(fields)
        if self.fast_records and known is not None:
            local = known.local_mesg_num
            if enc._local_mesg_definitions[local] is known:
                layout = _RECORD_LAYOUT[fields]
                if fields == 1:
                    data = layout.pack(local, timestamp)
                else:
                    assert distance_m is not None and speed is not None
                    data = layout.pack(
                        local, timestamp, round(distance_m * 100), round(speed * 1000)
                    )
                enc._output_stream._buffer.extend(data)
                return
        mesg: dict[str, Any] = {"mesg_num": RECORD, "timestamp": timestamp}
        if fields == 3:
            mesg["distance"] = distance_m
            mesg["speed"] = speed
        enc.write_mesg(mesg)
        self._record_defs[fields] = enc._find_local_mesg_definition(
            enc._create_mesg_definition(RECORD, mesg)
        )

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
        workout = workout_from_bytes(self.t.program_bytes, self.t.session["plan"] or "")
        if workout is None:
            return []
        for mesg in workout.messages:
            self.write(mesg)
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
            speed = lap.speed_m_s
            first_s = -(-lap.start_ms // 1000)  # the first whole second inside the lap
            for second in range(first_s, (lap.end_ms - 1) // 1000 + 1):
                at_m = None
                if speed is not None:
                    at_m = distance_m + speed * (second * 1000 - lap.start_ms) / 1000
                self.record(self.fit_start + second, at_m, speed)
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


def fit_activity(timeline: Timeline, *, fast_records: bool = True) -> bytes:
    """The FIT activity file of one session (`fast_records=False`: every record through the
    SDK's Encoder as it is, CRC included, for the test that the fast path writes the same
    bytes)."""
    w = _Writer(timeline, fast_records=fast_records)
    w.header()
    step_of_run = w.workout()
    w.event(0, EVENT_START)
    w.records()
    w.laps(step_of_run)
    w.session()
    data: bytes = w.encoder.close()
    return bytes(data)
