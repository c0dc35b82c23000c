"""Sync and upload speed of the whole app at 115200 baud: the real firmware (its journal on
a littlefs flash image) in the virtual device, the host's DeviceClient over pyserial, and
the exactly-once sync into SQLite. The fault proxy paces every byte at 10 bits a byte in
both directions, like a UART (a pty alone moves tens of MB/s).

The sessions are recorded by the firmware itself: a 20-step plan (10 x 400 m at 5k pace
with 60 s jogs) run 200 times by the autopilot runner on the stepped clock.

Figures:
  line_rate_ratio      session bytes synced / (sync wall time x 11520 B/s), target >= 0.8;
                       the sync is `repcue.sync.sync` end to end: HELLO, READ_SESSIONS
                       frames, the SQLite commit of every session, ACKs
  wire_bytes_per_step  bytes on the wire (both directions) per synced step
  upload_s             upload of a 100-step program (HELLO done), target < 0.5 s
  read_stream_line_rate_ratio
                       the READ_SESSIONS stream alone (no store, no ACKs), paced
  device_ms_per_frame  what one READ_SESSIONS frame costs the device, unpaced

--firmware DIR runs another firmware tree (e.g. a candidate fix) in the virtual device.

Usage: python bench/sync.py [--sessions 200] [--firmware DIR]
The last line printed is one JSON object; it is also written to bench/results/sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repcue.link import DeviceClient
from repcue.link.faults import FaultPlan, PtyFaultProxy
from repcue.link.serial import SerialTransport
from repcue.plan import check
from repcue.plan.profile import parse_profile
from repcue.sim import AutopilotOptions, SimOptions, VirtualDevice
from repcue.sim.autopilot import run_to_finish
from repcue.store import Store
from repcue.sync import SyncResult, sync
from repcue_fw.wire.host import program as wp

RESULTS = Path(__file__).resolve().parent / "results" / "sync.json"
BAUD = 115200
LINE_BYTES_S = BAUD / 10
TARGET_LINE_RATE = 0.8
TARGET_UPLOAD_S = 0.5
PLAN = "10x(400m @5k, 60s)"  # 20 steps: lap-ended reps, timed jogs
PROFILE = parse_profile('[races]\n5k = "20:00"\n')


def hundred_steps() -> bytes:
    """A 100-step program with no loops (the largest upload a plan of that length makes)."""
    steps: list[wp.Step | wp.Repeat] = [wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600)]
    for i in range(98):
        kind = wp.KIND_WORK if i % 2 == 0 else wp.KIND_RECOVERY
        steps.append(wp.Step(kind, wp.END_DISTANCE, 200 + i, wp.TARGET_PACE, 0, 2100 + i))
    steps.append(wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600))
    return wp.encode(wp.Program(steps))


async def install(path: str, program: bytes) -> None:
    async with DeviceClient(SerialTransport(path)) as dev:
        async for _ in dev.upload_program(program):
            pass


def record(device: VirtualDevice, sessions: int) -> float:
    start = time.perf_counter()
    for _ in range(sessions):
        run_to_finish(device, start=True, chunk_ms=3_600_000)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Run:
    seconds: float
    payload_bytes: int  # session bytes delivered
    wire_bytes: int  # both directions, as the proxy forwarded them
    requests: int

    @property
    def ratio(self) -> float:
        return self.payload_bytes / (self.seconds * LINE_BYTES_S)


def counting(dev: DeviceClient) -> list[int]:
    """Count the requests a client makes (one element: the count)."""
    count = [0]
    request = dev.channel.request

    async def counted(opcode: int, payload: bytes = b"", *, pipelined: bool = False) -> bytes:
        count[0] += 1
        return await request(opcode, payload, pipelined=pipelined)

    dev.channel.request = counted  # type: ignore[method-assign]
    return count


async def read_stream(device_path: str, *, baud: int | None) -> Run:
    """Only the READ_SESSIONS stream of every session: no store, no ACKs."""
    with PtyFaultProxy(device_path, FaultPlan(baud=baud)) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path)) as dev:
            await dev.hello()
            count = counting(dev)
            start = time.perf_counter()
            payload = 0
            async for _, raw in dev.read_sessions():
                payload += len(raw)
            elapsed = time.perf_counter() - start
        wire = proxy.to_device.bytes_out + proxy.to_host.bytes_out
    return Run(elapsed, payload, wire, count[0])


async def paced_sync(device_path: str, db: Path) -> tuple[SyncResult, Run]:
    """One whole sync from scratch into a new store: HELLO, reads, commits, ACKs."""
    with PtyFaultProxy(device_path, FaultPlan(baud=BAUD)) as proxy, Store(db) as store:
        async with DeviceClient(SerialTransport(proxy.serial_path)) as dev:
            count = counting(dev)
            start = time.perf_counter()
            result = await sync(dev, store)
            elapsed = time.perf_counter() - start
        wire = proxy.to_device.bytes_out + proxy.to_host.bytes_out
    if result.failed or not result.added:
        raise SystemExit(f"sync went wrong: {result.failed or 'nothing added'}")
    return result, Run(elapsed, result.bytes_read, wire, count[0])


async def paced_upload(device_path: str, program: bytes) -> float:
    with PtyFaultProxy(device_path, FaultPlan(baud=BAUD)) as proxy:
        async with DeviceClient(SerialTransport(proxy.serial_path)) as dev:
            await dev.hello()
            start = time.perf_counter()
            async for _ in dev.upload_program(program):
                pass
            elapsed = time.perf_counter() - start
            if (await dev.device_info()).program_id != wp.program_id(program):
                raise SystemExit("the uploaded program is not the one installed")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument(
        "--firmware", type=Path, metavar="DIR", help="another firmware tree (main.py, repcue_fw/)"
    )
    args = parser.parse_args()
    report = check(PLAN, profile=PROFILE)
    steps_per_session = len(report.steps)
    with tempfile.TemporaryDirectory(prefix="repcue-bench-") as scratch:
        work = Path(scratch)
        options = SimOptions(
            flash=work / "flash.img",
            clock="stepped",
            autopilot=AutopilotOptions(noise_frac=0.03, seed=5),
            firmware_dir=args.firmware,
        )
        with VirtualDevice(options) as device:
            asyncio.run(install(device.pty_path, report.program))
            record_s = record(device, args.sessions)
            # reading changes nothing on the device: measure the bare stream first
            unpaced = asyncio.run(read_stream(device.pty_path, baud=None))
            stream = asyncio.run(read_stream(device.pty_path, baud=BAUD))
            result, whole = asyncio.run(paced_sync(device.pty_path, work / "sync.db"))
            upload = asyncio.run(paced_upload(device.pty_path, hundred_steps()))

    sessions = len(result.added)
    steps = sessions * steps_per_session
    ratio = whole.ratio
    frames = unpaced.requests
    figures: dict[str, Any] = {
        "line_rate_ratio": round(ratio, 4),
        "line_rate_target": TARGET_LINE_RATE,
        "wire_bytes_per_step": round(whole.wire_bytes / steps, 2),
        "upload_s": round(upload, 4),
        "upload_target_s": TARGET_UPLOAD_S,
        "sessions": sessions,
        "steps": steps,
        "session_bytes": result.bytes_read,
        "sync_s": round(whole.seconds, 3),
        "sync_requests": whole.requests,
        "wire_bytes": whole.wire_bytes,
        "payload_per_wire_byte": round(result.bytes_read / whole.wire_bytes, 4),
        "read_stream_line_rate_ratio": round(stream.ratio, 4),
        "read_stream_s": round(stream.seconds, 3),
        "read_frames": frames,
        "device_ms_per_frame": round(unpaced.seconds / frames * 1000, 2),
        "record_s": round(record_s, 2),
        "baud": BAUD,
        "targets_met": ratio >= TARGET_LINE_RATE and upload < TARGET_UPLOAD_S,
    }
    ok_rate = "ok" if ratio >= TARGET_LINE_RATE else "MISSED"
    ok_upload = "ok" if upload < TARGET_UPLOAD_S else "MISSED"
    print(f"recorded {sessions} sessions of {steps_per_session} steps in {record_s:.1f} s")
    print(
        f"sync of {result.bytes_read} session bytes at {BAUD} baud: {whole.seconds:.2f} s, "
        f"line rate ratio {ratio:.3f} (target >= {TARGET_LINE_RATE}) {ok_rate}"
    )
    print(
        f"wire bytes per step: {whole.wire_bytes / steps:.1f} "
        f"({whole.wire_bytes} bytes for {steps} steps, "
        f"{result.bytes_read / whole.wire_bytes:.0%} of them session bytes)"
    )
    print(
        f"  of which the READ_SESSIONS stream alone: {stream.seconds:.2f} s (ratio "
        f"{stream.ratio:.3f}); the rest is SQLite commits and ACKs"
    )
    print(
        f"  the device takes {unpaced.seconds / frames * 1000:.1f} ms per frame, unpaced "
        f"({frames} frames; a full 1024-byte frame is {1024 / LINE_BYTES_S * 1000:.0f} ms "
        "on the line)"
    )
    print(f"upload of a 100-step program: {upload:.3f} s (target < {TARGET_UPLOAD_S}) {ok_upload}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
