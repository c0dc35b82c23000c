"""What the end-to-end tests share: the plan profile, what a program should record when the
autopilot runs it, recording sessions fast, and reading a device's flash image afterwards.

Everything goes through the real parts: the firmware in the micropython unix port behind a
pty (repcue.sim.VirtualDevice), pyserial (SerialTransport), the DeviceClient, SQLite.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from repcue.link import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.plan.profile import parse_profile
from repcue.sim import AutopilotOptions, SimOptions, VirtualDevice
from repcue.sim.autopilot import run_to_finish
from repcue_fw.wire.host import program as wp
from tests.mpy import run_mpy

PROFILE_TEXT = '[races]\n5k = "20:00"\n'
PROFILE = parse_profile(PROFILE_TEXT)
FLASH_BLOCKS = 256
FLASH_BLOCK_SIZE = 4096

# 20 timed steps, no countdown: a session of about 200 bytes that records in milliseconds
# on the stepped clock, and spans frames at the smallest frame size.
TWENTY_STEPS = wp.encode(
    wp.Program(
        [
            wp.Repeat(
                10,
                [
                    wp.Step(wp.KIND_WORK, wp.END_TIME, 20),
                    wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 10),
                ],
            )
        ],
        countdown_s=0,
    )
)


@dataclass(frozen=True)
class ExpectedStep:
    kind: str
    end: str  # time, distance, open
    planned: int  # the program's value: s, m, or estimated s
    end_reason: str  # what ends it when nobody skips: time, or the autopilot's lap
    elapsed_ms: int  # what the autopilot (no noise) makes of it


def _autopilot_ms(step: wp.Step, options: AutopilotOptions) -> int:
    # The virtual runner's rule (firmware/repcue_fw/boards/sim/autopilot.py), restated.
    if step.end == wp.END_DISTANCE:
        if step.target_type == wp.TARGET_PACE and step.target_value > 0:
            return int(step.value * step.target_value // 10)  # tenths of s/km x m
        return int(step.value * options.pace_s_per_km)
    if step.end == wp.END_OPEN:
        return int(step.value * 1000 if step.value else options.open_s * 1000)
    return int(step.value * 1000)


def _unroll(nodes: list[wp.Step | wp.Repeat]) -> list[wp.Step]:
    out: list[wp.Step] = []
    for node in nodes:
        if isinstance(node, wp.Step):
            out.append(node)
            continue
        body = node.body
        last = body[-1]
        drop = (
            node.drop_last_recovery
            and isinstance(last, wp.Step)
            and last.kind in (wp.KIND_RECOVERY, wp.KIND_REST)
        )
        for round_no in range(1, node.count + 1):
            out.extend(_unroll(body[:-1] if drop and round_no == node.count else body))
    return out


def expected_steps(program: bytes, options: AutopilotOptions) -> list[ExpectedStep]:
    """Every step the device runs, repeats unrolled, with what it should record."""
    out = []
    for step in _unroll(wp.decode(program).nodes):
        end = wp.END_NAMES[step.end]
        out.append(
            ExpectedStep(
                kind=wp.KIND_NAMES[step.kind],
                end=end,
                planned=int(step.value),
                end_reason="time" if end == "time" else "lap",
                elapsed_ms=_autopilot_ms(step, options),
            )
        )
    return out


def client(path: str, **kw: object) -> DeviceClient:
    """A DeviceClient over pyserial on `path` (open it with `async with`)."""
    return DeviceClient(SerialTransport(path), **kw)  # type: ignore[arg-type]


def stepped_device(flash: Path | None = None, **fields: object) -> VirtualDevice:
    """A started virtual device on the stepped clock with the autopilot runner on."""
    options = SimOptions(
        flash=flash,
        clock="stepped",
        autopilot=AutopilotOptions(),
        flash_blocks=FLASH_BLOCKS,
        flash_block_size=FLASH_BLOCK_SIZE,
        **fields,  # type: ignore[arg-type]
    )
    device = VirtualDevice(options)
    device.start()
    return device


def record_sessions(device: VirtualDevice, count: int) -> None:
    """Run the installed program `count` times to the end (stepped clock: milliseconds each)."""
    for _ in range(count):
        run_to_finish(device, start=True, chunk_ms=3_600_000)


@dataclass(frozen=True)
class FlashState:
    """What a device's flash holds: session files by id, and the installed program."""

    unacked: dict[int, int]  # complete, not acknowledged: id -> size
    acked: dict[int, int]
    open: dict[int, int]  # being recorded (or cut off)
    program: bytes | None

    @property
    def complete(self) -> set[int]:
        return set(self.unacked) | set(self.acked)


_READ_FLASH = r"""
import os, json, binascii
from flash_image import mount_image
mount_image(PATH, "/flash", BLOCK_SIZE, BLOCKS)
out = {"s": {}, "prog": None}
try:
    for e in os.ilistdir("/flash/s"):
        out["s"][e[0]] = os.stat("/flash/s/" + e[0])[6]
except OSError:
    pass
try:
    with open("/flash/prog", "rb") as f:
        out["prog"] = binascii.hexlify(f.read()).decode()
except OSError:
    pass
from repcue_fw.wire import records as rc
out["acks"] = []
try:
    with open("/flash/acks", "rb") as f:
        log = f.read()
    for i in range(0, len(log) - 5, 6):
        if rc.crc16(log, i, i + 4) != log[i + 4] | (log[i + 5] << 8):
            break
        out["acks"].append(int.from_bytes(log[i:i + 4], "little"))
except OSError:
    pass
print(json.dumps(out))
"""


def read_flash(image: Path) -> FlashState:
    """Mount a copy of a flash image in MicroPython (the device's own littlefs) and list
    it. A copy taken while the device runs is what a power cut would leave: it mounts."""
    with tempfile.TemporaryDirectory(prefix="repcue-flash-") as scratch:
        copy = Path(scratch) / "copy.img"
        shutil.copyfile(image, copy)
        code = (
            _READ_FLASH.replace("PATH", repr(str(copy)))
            .replace("BLOCK_SIZE", str(FLASH_BLOCK_SIZE))
            .replace("BLOCKS", str(FLASH_BLOCKS))
        )
        raw = json.loads(run_mpy(code).strip().splitlines()[-1])
    states: dict[str, dict[int, int]] = {"": {}, ".a": {}, ".o": {}}
    for name, size in raw["s"].items():
        stem, dot, tail = name.partition(".")
        if stem.isdigit() and dot + tail in states:
            states[dot + tail][int(stem)] = int(size)
    for sid in raw["acks"]:  # the ack log: acked sessions keep the name s/N
        if sid in states[""]:
            states[".a"][sid] = states[""].pop(sid)
    prog = raw["prog"]
    return FlashState(states[""], states[".a"], states[".o"], bytes.fromhex(prog) if prog else None)
