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
import copy
import functools
import struct
import sys
from typing import Any, cast

from garmin_fit_sdk import Encoder

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


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


@functools.cache
def _crc_table16() -> array.array[int]:
    """The CRC after two bytes, for every 16-bit (crc ^ word): the state is 16 bits, so two
    bytes at a time need one look-up (the table is built once, ~20 ms)."""
    t = _CRC_TABLE
    one = [(x >> 8) ^ t[x & 0xFF] for x in range(65536)]
    return array.array("H", [(c >> 8) ^ t[c & 0xFF] for c in one])


def fit_crc(data: bytes | bytearray, crc: int = 0) -> int:
    """FIT's CRC-16 (poly 0xA001 reflected, init 0), two bytes per step: the SDK's own works a
    nibble at a time through a call per byte (1 ms per KB, most of an export's time)."""
    pairs = len(data) // 2 * 2
    if pairs >= 4096:
        table16 = _crc_table16()
        words = array.array("H", bytes(data[:pairs]))
        if sys.byteorder == "big":
            words.byteswap()
        for word in words:
            crc = table16[crc ^ word]
    else:
        pairs = 0
    table = _CRC_TABLE
    for byte in data[pairs:]:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


class _Encoder(Encoder):
    """The SDK's Encoder, faster where it repeats itself (tests compare the files with the
    SDK's own): a message's definition is built from the profile once per shape (the SDK
    searches the profile for every key of every message), and the CRC at close comes from a
    table."""

    def __init__(self) -> None:
        super().__init__()
        self._shapes: dict[tuple[object, ...], Any] = {}

    def _create_mesg_definition(self, mesg_num: int, mesg: dict[str, Any]) -> Any:
        shape = (mesg_num, *((k, _size(v)) for k, v in mesg.items() if v is not None))
        found = self._shapes.get(shape)
        if found is None:
            found = cast(Any, super())._create_mesg_definition(mesg_num, mesg)
            self._shapes[shape] = found
        return copy.copy(found)  # the Encoder sets its local number on the copy it keeps

    def close(self) -> bytes:
        me = cast(Any, self)  # the SDK's stubs leave out its private parts
        me._update_file_header()
        me._output_stream.write_uint16(fit_crc(me._output_stream._buffer))
        data: bytes = me._output_stream.data
        return data


def _size(value: object) -> int:
    """What makes two definitions of the same keys differ: a string's or a list's length."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return len(value)
    return 0


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
        """One record through the Encoder; remembers the local definition it used."""
        mesg: dict[str, Any] = {"mesg_num": RECORD, "timestamp": timestamp}
        if distance_m is not None and speed is not None:
            mesg["distance"] = distance_m
            mesg["speed"] = speed
        enc = self.encoder
        enc.write_mesg(mesg)
        fields = len(mesg) - 1
        known = self._record_defs.get(fields)
        if known is None or enc._local_mesg_definitions[known.local_mesg_num] is not known:
            self._record_defs[fields] = enc._find_local_mesg_definition(
                enc._create_mesg_definition(RECORD, mesg)
            )

    def _current_record_local(self, speed: float | None) -> int:
        """The local number of the Encoder's definition for records of this shape while it
        still holds it (a lap after the first of its kind needs no new one), else -1."""
        known = self._record_defs.get(1 if speed is None else 3)
        if known is None:
            return -1
        local: int = known.local_mesg_num
        return local if self.encoder._local_mesg_definitions[local] is known else -1

    def lap_records(
        self, seconds: range, base_m: float, speed: float | None, start_ms: int
    ) -> None:
        """The records of one lap (`seconds` since the session start). The Encoder takes
        ~50 us a message (it rebuilds the definition from the profile each time): an hour at
        1 Hz would cost 180 ms. So the lap's first record goes through it, and the others,
        while the Encoder holds that local definition, are packed in one go in the very bytes
        it writes (little-endian: header, timestamp uint32, distance uint32 cm, speed uint16
        mm/s; a test compares the files)."""
        if not seconds:
            return
        stamp0 = self.fit_start

        def at_m(second: int) -> float | None:
            if speed is None:
                return None
            return base_m + speed * (second * 1000 - start_ms) / 1000

        enc = self.encoder
        rest = seconds
        local = self._current_record_local(speed)
        if local < 0:  # the Encoder defines it with this lap's first record
            self.record(stamp0 + seconds[0], at_m(seconds[0]), speed)
            rest = seconds[1:]
            local = self._current_record_local(speed)
        if not self.fast_records or local < 0:
            for second in rest:
                self.record(stamp0 + second, at_m(second), speed)
            return
        flat: list[int] = []
        if speed is None:
            for second in rest:
                flat += (local, stamp0 + second)
            layout = "BI"
        else:
            speed_raw = round(speed * 1000)
            for second in rest:
                distance_m = base_m + speed * (second * 1000 - start_ms) / 1000
                flat += (local, stamp0 + second, round(distance_m * 100), speed_raw)
            layout = "BIIH"
        enc._output_stream._buffer += struct.pack("<" + layout * len(rest), *flat)

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
