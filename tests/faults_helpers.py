"""What the fault suites share (tests/host/test_link_faults.py, tests/e2e/test_e2e_faults.py):
the noisy-link plans, the fuzz frames, and a flood of them through pyserial."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import serial

from repcue.link.faults import FaultPlan
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

# Per-byte rates that spoil roughly one 512-byte frame in six: rough, yet a sync must
# still finish, only slower.
NOISY = [
    FaultPlan(seed=1, drop_per_byte=3e-4),
    FaultPlan(seed=2, corrupt_per_byte=3e-4),
    FaultPlan(seed=3, duplicate_per_chunk=0.2, delay_per_chunk=0.2, max_delay_s=0.05),
    FaultPlan(
        seed=4,
        drop_per_byte=1.5e-4,
        corrupt_per_byte=1.5e-4,
        duplicate_per_chunk=0.1,
        delay_per_chunk=0.1,
    ),
]


def fuzz_frames(count: int, seed: int) -> Iterator[bytes]:
    """Random garbage, random valid-CRC requests, mutated and oversize frames; never the
    REPL request or the break-in bytes (both leave protocol mode by design)."""
    rng = random.Random(seed)
    ops = [o for o in op.OP_NAMES if o != op.OP_REPL] + [0x00, 0x7F, 0xFF]
    for i in range(count):
        kind = rng.randrange(4)
        if kind == 0:
            data = bytearray(rng.randrange(1, 256) for _ in range(rng.randrange(80)))
        else:
            payload = rng.randbytes(rng.randrange(60))
            if kind == 3 and rng.random() < 0.2:
                payload = rng.randbytes(1100)  # oversize for the device's 1024
            flags = rng.randrange(4) if rng.random() < 0.1 else 0
            raw = bytearray(wf.encode(rng.choice(ops), flags, i & 0xFFFF, payload))
            if kind == 1:
                for _ in range(rng.randrange(1, 4)):
                    raw[rng.randrange(len(raw) - 1)] = rng.randrange(256)
            data = raw[:-1] if raw[-1] == 0 else raw
        if len(data) >= 2 and data[1] == 0x03 and data[0] in (0x03, 0x0D):
            data[1] = 0x04
        yield bytes(data) + b"\x00"


def flood(path: str, count: int, *, seed: int, drain_s: float = 0.0) -> int:
    """Throw `count` fuzz frames at a serial port in 4 KB batches, reading whatever the
    device answers as it goes (and for drain_s after the last); -> bytes answered."""
    answered = 0
    with serial.Serial(path, timeout=0) as port:
        batch = bytearray()
        for frame in fuzz_frames(count, seed=seed):
            batch += frame
            if len(batch) > 4096:
                port.write(batch)
                batch.clear()
                answered += len(port.read(65536))
        port.write(batch)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            answered += len(port.read(65536))
    return answered
