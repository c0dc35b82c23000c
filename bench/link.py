"""The link layer's speed and cost: the wire protocol over a real pty, paced at 115200 baud.

The device is the firmware's real link (Dispatcher + serial link in the micropython unix
port) over in-memory services (tests/firmware/test_link_rig.py), so these figures are the
protocol's ceiling; bench/sync.py measures the whole app with its journal. Bytes are paced
by the fault proxy at 10 bits a byte in both directions, like a UART.

Figures:
  upload_s          upload a 100-step program (HELLO done), target < 0.5 s at 115200
  line_rate_ratio   session bytes read / (elapsed x 11520 B/s) while reading and
                    acknowledging 240-byte sessions (a 20-step session in wire/host/records.py)
                    with READ_SESSIONS, target >= 0.8; _one_by_one: LIST + a READ_SESSION
                    per session instead
  wire_overhead_per_frame  bytes a frame adds to its payload (header, CRC, COBS, delimiter)
  rtt_ms_p50/p99    ECHO round trip over the pty, unpaced
  decode_mb_s, encode_mb_s  frame codec in MicroPython (this machine)
  dispatcher_heap_bytes     heap a Dispatcher with 1024-byte frames takes in MicroPython

Usage: python bench/link.py [--sessions 200]
The last line printed is one JSON object; it is also written to bench/results/link.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.firmware.test_link_rig import MpyDevice  # noqa: E402
from tests.host.test_link_client import hundred_steps  # noqa: E402
from tests.mpy import run_mpy  # noqa: E402

from repcue.link import DeviceClient  # noqa: E402
from repcue.link.faults import FaultPlan, PtyFaultProxy  # noqa: E402
from repcue.link.serial import SerialTransport  # noqa: E402
from repcue_fw.wire.host import frame as wf  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "link.json"
BAUD = 115200
TARGET_UPLOAD_S = 0.5
TARGET_LINE_RATE = 0.8

CODEC_BENCH = r"""
import time, gc
from repcue_fw.wire.host import frame as wf
from repcue_fw.link.dispatch import Dispatcher
payload = bytes(range(1, 256)) * 4
w = wf.encode(0x31, 1, 1, payload[:1000])
data = w * 100
dec = wf.Decoder(1024)
t = time.ticks_us()
pos = 0
while pos < len(data):
    pos, r = dec.push(data, pos, len(data))
dt_dec = time.ticks_diff(time.ticks_us(), t)
raw = bytearray(1024)
raw[5:1005] = payload[:1000]
out = bytearray(wf.encoded_size(1024))
t = time.ticks_us()
for i in range(100):
    wf.seal_into(raw, 1005, out)
dt_enc = time.ticks_diff(time.ticks_us(), t)
class S:
    pass
gc.collect()
before = gc.mem_free()
d = Dispatcher(S(), 1024)
gc.collect()
print(len(data) / dt_dec, 100 * 1009 / dt_enc, before - gc.mem_free())
"""


async def upload_s(path: str) -> float:
    program = hundred_steps()
    async with DeviceClient(SerialTransport(path)) as dev:
        await dev.hello()
        start = time.perf_counter()
        async for _ in dev.upload_program(program):
            pass
        return time.perf_counter() - start


async def sync_like(path: str, batched: bool) -> tuple[float, int, int]:
    """Read and ack every session; returns (elapsed s, session bytes, sessions).

    batched: READ_SESSIONS (sessions packed into frames); else LIST_SESSIONS and one
    READ_SESSION round trip per session."""
    async with DeviceClient(SerialTransport(path)) as dev:
        await dev.hello()
        start = time.perf_counter()
        ids = []
        total = 0
        if batched:
            async for entry, data in dev.read_sessions():
                ids.append(entry.session_id)
                total += len(data)
        else:
            for entry in await dev.list_sessions():
                ids.append(entry.session_id)
                async for chunk in dev.read_session(entry.session_id, size_bytes=entry.size_bytes):
                    total += len(chunk)
        await dev.ack_sessions(ids)
        return time.perf_counter() - start, total, len(ids)


async def rtt_ms(path: str, n: int = 300) -> list[float]:
    async with DeviceClient(SerialTransport(path)) as dev:
        await dev.hello()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            await dev.echo(b"0123456789abcdef")
            times.append((time.perf_counter() - start) * 1000)
        return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    paced = FaultPlan(baud=BAUD)
    line_bytes_s = BAUD / 10

    def device() -> MpyDevice:
        return MpyDevice(sessions=args.sessions, base=240, spread=1, heap_kb=1024)

    with device() as dev:
        with PtyFaultProxy(dev.serial_path, paced) as proxy:
            upload = asyncio.run(upload_s(proxy.serial_path))
        with PtyFaultProxy(dev.serial_path, paced) as proxy:
            elapsed, payload, count = asyncio.run(sync_like(proxy.serial_path, batched=True))
            wire_bytes = proxy.to_device.bytes_out + proxy.to_host.bytes_out
        rtts = asyncio.run(rtt_ms(dev.serial_path))
    with device() as dev, PtyFaultProxy(dev.serial_path, paced) as proxy:
        one_s, one_payload, _ = asyncio.run(sync_like(proxy.serial_path, batched=False))
        one_wire = proxy.to_device.bytes_out + proxy.to_host.bytes_out
    decode_mb_s, encode_mb_s, heap = (float(x) for x in run_mpy(CODEC_BENCH).split())

    ratio = payload / (elapsed * line_bytes_s)
    one_ratio = one_payload / (one_s * line_bytes_s)
    overhead = len(wf.encode(0x31, 1, 1, bytes(range(1, 201)))) - 200
    print(
        f"upload of a 100-step program at {BAUD} baud: {upload:.3f} s (target < {TARGET_UPLOAD_S})"
    )
    print(
        f"READ_SESSIONS: {count} sessions, {payload} bytes in {elapsed:.2f} s: "
        f"{ratio:.1%} of the line rate (target >= {TARGET_LINE_RATE:.0%}); "
        f"{wire_bytes / count:.0f} wire bytes per {payload / count:.0f}-byte session"
    )
    print(
        f"READ_SESSION one by one: {one_s:.2f} s, {one_ratio:.1%} of the line rate; "
        f"{one_wire / count:.0f} wire bytes per session"
    )
    print(f"frame overhead: {overhead} bytes per frame (+1 per 254 payload bytes)")
    p50 = statistics.median(rtts)
    p99 = rtts[int(len(rtts) * 0.99) - 1]
    print(f"ECHO round trip over the pty, unpaced: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"MicroPython frame codec: decode {decode_mb_s:.1f} MB/s, encode {encode_mb_s:.1f} MB/s")
    print(f"Dispatcher with 1024-byte frames: {heap:.0f} bytes of MicroPython heap")
    result = {
        "upload_s": round(upload, 4),
        "upload_target_s": TARGET_UPLOAD_S,
        "line_rate_ratio": round(ratio, 4),
        "line_rate_target": TARGET_LINE_RATE,
        "sessions": count,
        "session_bytes": payload,
        "wire_bytes_per_session": round(wire_bytes / count, 1),
        "line_rate_ratio_one_by_one": round(one_ratio, 4),
        "wire_bytes_per_session_one_by_one": round(one_wire / count, 1),
        "wire_overhead_per_frame": overhead,
        "rtt_ms_p50": round(p50, 3),
        "rtt_ms_p99": round(p99, 3),
        "decode_mb_s": round(decode_mb_s, 2),
        "encode_mb_s": round(encode_mb_s, 2),
        "dispatcher_heap_bytes": int(heap),
        "baud": BAUD,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
