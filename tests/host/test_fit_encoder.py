"""The fast Encoder writes exactly the bytes of garmin-fit-sdk's own, for every kind of value
an activity or workout file holds, and when the 16 local definitions run out and are reused."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from garmin_fit_sdk import CrcCalculator, Encoder

from repcue.export.fit_encoder import FastEncoder, fit_crc

RECORD, LAP, EVENT, WORKOUT, WORKOUT_STEP, DEVICE_INFO = 20, 19, 21, 26, 27, 23


def both(messages: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    fast, plain = FastEncoder(), Encoder()
    for mesg in messages:
        fast.write_mesg(dict(mesg))
        plain.write_mesg(dict(mesg))
    return bytes(fast.close()), bytes(plain.close())


def test_values_of_every_kind_are_the_sdks() -> None:
    messages: list[dict[str, Any]] = [
        {"mesg_num": WORKOUT, "sport": "running", "wkt_name": "6x800", "num_valid_steps": 3},
        {"mesg_num": WORKOUT_STEP, "message_index": 0, "duration_type": "time",
         "duration_value": 600_000, "intensity": "warmup", "notes": "easy"},
        {"mesg_num": WORKOUT_STEP, "message_index": 1, "duration_type": "distance",
         "duration_value": 80_000, "intensity": "active", "notes": "@5k"},
        {"mesg_num": WORKOUT_STEP, "message_index": 2, "duration_type": "distance",
         "duration_value": 40_000, "intensity": "active", "notes": "@3k"},  # same shape
        {"mesg_num": WORKOUT_STEP, "message_index": 3, "duration_type": 0,  # number, not name
         "duration_value": 90_000, "intensity": 1},
        {"mesg_num": DEVICE_INFO, "timestamp": 1_000, "software_version": 0.42,  # scaled x100
         "product_name": "repcue", "serial_number": 0xDEADBEEF},
        {"mesg_num": RECORD, "timestamp": 1_001, "distance": 12.345, "speed": 3.5,
         "altitude": -12.5, "heart_rate": 300},  # offset, and a value over its uint8
        {"mesg_num": RECORD, "timestamp": 1_002, "distance": 15.9, "speed": 3.25,
         "altitude": 10.0, "heart_rate": 150},
        {"mesg_num": EVENT, "timestamp": datetime(2026, 12, 5, tzinfo=UTC), "event": "timer",
         "event_type": "start"},  # a date: the SDK's own path
        {"mesg_num": LAP, "timestamp": 1_003, "total_elapsed_time": 1.5, "sport": 1,
         "avg_speed": 4.0, "total_distance": 6.0, "message_index": 0},
        {"mesg_num": LAP, "timestamp": 1_004, "total_elapsed_time": 2.25, "sport": 1,
         "avg_speed": 4.5, "total_distance": 9.0, "message_index": 1},
    ]  # fmt: skip
    fast, plain = both(messages)
    assert fast == plain


def test_local_definitions_reused_past_sixteen_shapes_are_the_sdks() -> None:
    pick = random.Random(7)
    messages: list[dict[str, Any]] = []
    for i in range(400):
        mesg: dict[str, Any] = {"mesg_num": RECORD, "timestamp": 1_000 + i}
        for key in pick.sample(["distance", "speed", "heart_rate", "cadence", "altitude"], 3)[
            : pick.randrange(4)
        ]:
            mesg[key] = pick.randrange(1, 200)
        if i % 7 == 0:
            intensity = pick.choice(["active", "rest"])
            mesg = {"mesg_num": LAP, "timestamp": 1_000 + i, "message_index": i,
                    "total_timer_time": i / 3, "intensity": intensity}  # fmt: skip
        messages.append(mesg)
    fast, plain = both(messages)
    assert fast == plain


def test_an_unknown_enum_name_is_refused_as_the_sdk_refuses_it() -> None:
    step = {"mesg_num": WORKOUT_STEP, "message_index": 0, "duration_type": "time"}
    encoder = FastEncoder()
    encoder.write_mesg(dict(step))
    with pytest.raises(ValueError, match="tim3"):
        encoder.write_mesg({**step, "duration_type": "tim3"})  # the same shape, packed


def test_fit_crc_is_the_sdks() -> None:
    noise = random.Random(14).randbytes(40_001)
    for data in (b"", b"\x0e\x20", bytes(range(256)) * 3, noise, noise[:4096], noise[:4097]):
        assert fit_crc(data) == CrcCalculator.calculate_crc(data, 0, len(data))
