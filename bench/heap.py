"""Heap ceiling: the smallest `-X heapsize` at which the whole firmware does its job.

The job, on the virtual device (real firmware, real pty, stepped clock): boot, answer
HELLO, take a 100-step program over the link (dispatcher + journal install), record a
whole session of it (engine + runner + journal; the autopilot laps the distance steps),
then list and read the session back over the link. A heap size "runs" if all of that
completes with nothing logged as an error. Binary search per deployment form:
  romfs   the bundle's repcue_fw/ as a ROMFS image (`repcue firmware build --romfs`) mounted
          at /rom, as on a board with a ROMFS partition: .mpy bytecode runs in place
  mpy     the `repcue firmware build` bundle (.mpy) on the filesystem: the unix port (and a
          board) copies each module's bytecode into the heap at import
  source  the .py files, compiled by the board at import time

How the ROMFS figure is accounted: on a board the image is in flash and takes no RAM. The
unix port cannot map a file outside its GC heap, so the virtual device reads the image
into one buffer in the heap at boot, before anything else, and keeps it there for its
life; the launcher passes `-X heapsize` = the heap tried + what that one buffer takes
(its size in whole GC blocks plus their share of the allocation tables). `min_heap_kb` is
the heap beside the image (the board's RAM); `heapsize_passed_kb` is the -X heapsize
actually passed at that minimum, `romfs_image_kb` the image's size. Everything else the
firmware holds (qstrs, function and class objects, module dicts, buffers) is counted.

On this 64-bit unix port GC blocks and pointers are twice a 32-bit board's, so these
figures overstate a board's needs; `code_kb` is what the imported .mpy modules alone take
(`code_kb_romfs` the same imported from the image: without the bytecode; per module
roughly: a module that makes the interpreter grow a qstr pool is charged for all of it;
`qstrs`/`qstr_kb` say how much of it is interned names and strings), `runtime_kb` what the
job holds beyond the code. The per-module table prints the last run's figures beside this
run's (read from bench/results/heap.json before it is rewritten). A run in which a form
fails even at the largest heap writes no results file.

The same job on a 32-bit MicroPython (bench/_heap32: the webassembly port under Node, its
heap kept from growing; 4-byte pointers and 16-byte GC blocks as on a board), driven one
wire frame or clock step at a time: `min_heap_kb_32` (ROMFS, goal 64 KB) and
`min_heap_kb_32_mpy` (.mpy files as mpremote copies them, goal 96 KB); with the screen
(240x240 RGB565, a blit that discards) when the firmware has one (`screen_32`).

Target: runs in 96 KB; goal 64 KB (an nRF52832-class watch).
Usage: python bench/heap.py [--quick] [--32]   (--32: only the 32-bit figures, printed, no
results file; last line: one JSON object; also bench/results/heap.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import serial

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._heap32 import measure as measure32  # noqa: E402
from bench._heap32.port import Wasm32Error  # noqa: E402
from bench._heap_code import code_kb  # noqa: E402

from repcue.errors import SimError  # noqa: E402
from repcue.firmware_build import build  # noqa: E402
from repcue.sim import AutopilotOptions, SimOptions, VirtualDevice, romfs  # noqa: E402
from repcue.sim.autopilot import run_to_finish  # noqa: E402
from repcue_fw.wire.host import frame, records  # noqa: E402
from repcue_fw.wire.host import opcodes as op  # noqa: E402
from repcue_fw.wire.host import program as wp  # noqa: E402

TARGET_KB = 96
GOAL_KB = 64
STEPS = 100
LOW_KB, HIGH_KB = 24, 512


def hundred_steps() -> bytes:
    """50 x (200 m at 3:00/km, 30 s jog) written out: 100 top-level steps, no repeat."""
    nodes: list[wp.Step | wp.Repeat] = []
    for i in range(STEPS // 2):
        nodes.append(wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 200, wp.TARGET_PACE, 0, 1800 + i))
        nodes.append(wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 30))
    return wp.encode(wp.Program(nodes, countdown_s=3))


class Link:
    """One-request-at-a-time protocol client from the shared wire codec."""

    def __init__(self, port: str, alive: Callable[[], bool]) -> None:
        self.alive = alive  # a crashed firmware answers nothing: stop waiting at once
        self.ser = serial.Serial(port, timeout=0.05)
        self.decoder = frame.Decoder(4096)
        self.seq = 0

    def call(self, opcode: int, payload: bytes = b"", timeout_s: float = 10) -> bytes:
        self.seq = (self.seq + 1) & 0xFFFF
        self.ser.write(frame.encode(opcode, 0, self.seq, payload))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.alive():
            for got in self.decoder.feed(self.ser.read(self.ser.in_waiting or 1)):
                if got.seq == self.seq and got.flags & frame.FLAG_RESPONSE:
                    if got.payload[0] != op.ST_OK:
                        error = op.get_error(got.payload, 0, len(got.payload))
                        raise RuntimeError(f"{op.OP_NAMES.get(opcode, opcode)}: {error}")
                    return bytes(got.payload[1:])
        what = "no answer" if self.alive() else "the firmware died before answering"
        raise TimeoutError(f"{what} to {op.OP_NAMES.get(opcode, opcode)}")

    def close(self) -> None:
        self.ser.close()


def job(
    firmware_dir: Path, heap_kb: int, program: bytes, use_romfs: bool = False
) -> tuple[bool, str, dict[str, int]]:
    """Run the whole job at this heap size (with use_romfs: beside the image): (ran, why
    not, memory figures; with use_romfs, alloc leaves out the image's buffer)."""
    options = SimOptions(
        clock="stepped",
        heap_kb=heap_kb,
        firmware_dir=firmware_dir,
        autopilot=AutopilotOptions(),
        romfs=use_romfs,
    )
    dev = VirtualDevice(options)
    try:
        dev.start(timeout_s=15)
    except SimError as err:
        dev.stop()
        return False, f"boot: {str(err).splitlines()[-1][:80]}", {}
    link = Link(dev.pty_path, lambda: dev.running)
    try:
        link.call(op.OP_HELLO, op.hello_req(1024))
        crc = wp.program_id(program)  # the id names the upload
        link.call(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(program), crc))
        for offset in range(0, len(program), 256):
            chunk = program[offset : offset + 256]
            link.call(op.OP_PROGRAM_CHUNK, op.program_chunk_req(offset, chunk))
        link.call(op.OP_PROGRAM_COMMIT, op.u32(crc))
        run_to_finish(dev, start=True, chunk_ms=600_000, timeout_s=30, max_virtual_ms=4 * 3_600_000)
        body = link.call(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 10))
        sessions = op.get_sessions(body, 0, len(body))[0]
        data = b""
        while True:
            req = op.read_session_req(sessions[0][0], len(data), 512)
            chunk = link.call(op.OP_READ_SESSION, req)
            if not chunk:
                break
            data += chunk
        session = records.decode_session(data)
        if not session.complete or len(session.steps) != STEPS:
            return False, f"session has {len(session.steps)} steps", {}
        errors = [r for r in dev.require_control().records if r.get("k") == "log"]
        if errors:
            return False, f"firmware logged: {errors[0].get('msg')}", {}
        mem = dev.require_control().request("mem")
        image = dev.romfs_image.stat().st_size if dev.romfs_image else 0
        alloc = int(mem["alloc"]) - romfs.pool_bytes(image) if image else int(mem["alloc"])
        return True, "", {"alloc": alloc, "free": int(mem["free"])}
    except (RuntimeError, TimeoutError, SimError, OSError, ValueError) as err:
        tail = dev.stderr_tail().splitlines()
        why = tail[-1] if tail else str(err)
        return False, why[:100], {}
    finally:
        link.close()
        dev.stop()


def smallest(
    firmware_dir: Path, program: bytes, step_kb: int, use_romfs: bool
) -> tuple[int | None, list[str]]:
    """Binary search for the smallest heap (multiple of step_kb) that runs the job."""
    notes: list[str] = []
    ok, why, _ = job(firmware_dir, HIGH_KB, program, use_romfs)
    if not ok:
        return None, [f"fails even at {HIGH_KB} KB: {why}"]
    low, high = LOW_KB, HIGH_KB  # low fails (assumed), high runs
    while high - low > step_kb:
        mid = (low + high) // 2 // step_kb * step_kb
        if mid <= low:
            mid = low + step_kb
        ok, why, _ = job(firmware_dir, mid, program, use_romfs)
        notes.append(f"{mid} KB: {'runs' if ok else 'fails (' + why + ')'}")
        if ok:
            high = mid
        else:
            low = mid
    return high, notes


def previous_figures() -> dict[str, object]:
    """The last run's summary (bench/results/heap.json), to print beside this run's."""
    try:
        loaded = json.loads((ROOT / "bench" / "results" / "heap.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def measure(
    name: str, folder: Path, program: bytes, step_kb: int, use_romfs: bool
) -> dict[str, object]:
    """One deployment form: the search, the target and goal, memory and code figures."""
    t0 = time.monotonic()
    min_kb, notes = smallest(folder, program, step_kb, use_romfs)
    if min_kb is None:
        raise RuntimeError(f"{name}: {notes[0]}")
    at_target = job(folder, TARGET_KB, program, use_romfs)
    at_goal = job(folder, GOAL_KB, program, use_romfs)
    _, _, mem = job(folder, HIGH_KB, program, use_romfs)
    image = romfs.image_for(folder) if use_romfs else None
    code, qstrs = code_kb(folder, image)
    result: dict[str, object] = {
        "min_heap_kb": min_kb,
        "runs_at_96k": at_target[0],
        "runs_at_64k": at_goal[0],
        "why_not_96k": at_target[1],
        "why_not_64k": at_goal[1],
        "code_kb_by_module": code,
        "qstrs": qstrs,
        "heap_in_use_after_session_kb": round(mem.get("alloc", 0) / 1024, 1),
        "search": notes,
        "seconds": round(time.monotonic() - t0, 1),
    }
    if image is not None:
        size = image.stat().st_size
        result["romfs_image_kb"] = round(size / 1024, 1)
        result["heapsize_passed_kb"] = round(romfs.heapsize_bytes(min_kb, size) / 1024, 1)
    return result


def report(results: dict[str, dict[str, object]], before: dict[str, object]) -> None:
    for name, r in results.items():
        code = r["code_kb_by_module"]
        assert isinstance(code, dict)
        beside = " beside the image" if name == "romfs" else ""
        print(
            f"{name:6}  smallest heap{beside} {r['min_heap_kb']} KB (target {TARGET_KB}, goal "
            f"{GOAL_KB})  runs at 96K: {r['runs_at_96k']}  at 64K: {r['runs_at_64k']}"
        )
        if name == "romfs":
            print(
                f"        image {r['romfs_image_kb']} KB, held in the unix port's heap and "
                f"not counted: -X heapsize was {r['heapsize_passed_kb']} KB at the minimum"
            )
        print(
            f"        code {code['total']} KB; in use after the session "
            f"{r['heap_in_use_after_session_kb']} KB{beside}"
        )
        for size in ("96", "64"):
            if not r[f"runs_at_{size}k"]:
                print(f"        at {size}K: {r[f'why_not_{size}k']}")
    mpy, rom = results["mpy"], results["romfs"]
    by_module = mpy["code_kb_by_module"]
    rom_by_module = rom["code_kb_by_module"]
    assert isinstance(by_module, dict) and isinstance(rom_by_module, dict)
    qstrs = mpy["qstrs"]
    assert isinstance(qstrs, dict)
    print(
        f"interned names and strings (qstrs): {int(qstrs.get('count', 0))}, "
        f"{qstrs.get('kb', 0)} KB of the code figures"
    )
    runtime = round(float(mpy["heap_in_use_after_session_kb"]) - by_module["total"], 1)
    print(f"runtime data (heap in use after the session, less the code): {runtime} KB")
    was = before.get("code_kb_by_module")
    was_by_module: dict[str, float] = was if isinstance(was, dict) else {}
    print(
        f"heap per module (KB: .mpy in the heap, the last run's beside it, then from the "
        f"ROMFS image; min heap then {before.get('min_heap_kb', '?')} KB):"
    )
    for module, size in sorted(by_module.items(), key=lambda kv: -kv[1]):
        then = was_by_module.get(module)
        was_text = "" if then is None else f"(was {then:5.1f})"
        print(f"  {size:6.1f}  {was_text:12}  {rom_by_module.get(module, 0):6.1f}  {module}")
    for module, then in sorted(was_by_module.items()):
        if module not in by_module:
            print(f"     -    (was {then:5.1f})  {module}")


def summarise(
    results: dict[str, dict[str, object]], program: bytes, step_kb: int
) -> dict[str, object]:
    rom, mpy, source = results["romfs"], results["mpy"], results["source"]
    by_module = mpy["code_kb_by_module"]
    rom_by_module = rom["code_kb_by_module"]
    qstrs = mpy["qstrs"]
    assert isinstance(by_module, dict) and isinstance(rom_by_module, dict)
    assert isinstance(qstrs, dict)
    return {
        # the headline: a board with the firmware in a ROMFS partition (RAM beside the image)
        "min_heap_kb": rom["min_heap_kb"],
        "runs_at_96k": rom["runs_at_96k"],
        "runs_at_64k": rom["runs_at_64k"],
        "romfs_image_kb": rom["romfs_image_kb"],
        "heapsize_passed_kb": rom["heapsize_passed_kb"],
        # the .mpy bundle on the filesystem (bytecode copied into the heap)
        "min_heap_kb_mpy": mpy["min_heap_kb"],
        "runs_at_96k_mpy": mpy["runs_at_96k"],
        "runs_at_64k_mpy": mpy["runs_at_64k"],
        "min_heap_kb_source": source["min_heap_kb"],
        "runs_at_96k_source": source["runs_at_96k"],
        "code_kb": by_module["total"],
        "code_kb_by_module": by_module,
        "code_kb_romfs": rom_by_module["total"],
        "code_kb_by_module_romfs": rom_by_module,
        "heap_in_use_after_session_kb": mpy["heap_in_use_after_session_kb"],
        "heap_in_use_after_session_kb_romfs": rom["heap_in_use_after_session_kb"],
        "qstrs": int(qstrs.get("count", 0)),
        "qstr_kb": qstrs.get("kb", 0),
        # what the job holds beyond the code (.mpy form)
        "runtime_kb": round(float(mpy["heap_in_use_after_session_kb"]) - by_module["total"], 1),
        "target_kb": TARGET_KB,
        "goal_kb": GOAL_KB,
        "program_bytes": len(program),
        "steps": STEPS,
        "step_kb": step_kb,
        "platform": "unix port, 64-bit",
    }


def main() -> int:
    quick = "--quick" in sys.argv
    only_32 = "--32" in sys.argv  # the 32-bit figures alone, printed, no results file
    step_kb = 16 if quick else 1  # a full run finds the ceiling to the KB
    program = hundred_steps()
    before = previous_figures()
    with tempfile.TemporaryDirectory(prefix="repcue-heap-") as tmp:
        os.environ[romfs.CACHE_ENV] = str(Path(tmp) / "cache")  # images of this run only
        bundle = Path(tmp) / "bundle"
        build(bundle)
        forms = {} if only_32 else {
            "romfs": (bundle, True),
            "mpy": (bundle, False),
            "source": (ROOT / "firmware", False),
        }  # fmt: skip
        results: dict[str, dict[str, object]] = {}
        try:
            for name, (folder, use_romfs) in forms.items():
                results[name] = measure(name, folder, program, step_kb, use_romfs)
            figures_32 = measure32.measure(bundle, Path(tmp), program, step_kb)
        except (RuntimeError, SimError, Wasm32Error, OSError, subprocess.CalledProcessError) as err:
            # no results file from a failed run: the last good one stays
            print(f"error: {err}; bench/results/heap.json left as it was", file=sys.stderr)
            return 1
    print(f"program: {len(program)} bytes, {STEPS} steps; job: upload, record, read back")
    if only_32:
        measure32.report(figures_32)
        print(json.dumps({k: v for k, v in figures_32.items() if k != "detail_32"}))
        return 0
    report(results, before)
    measure32.report(figures_32)
    summary = summarise(results, program, step_kb)
    summary.update(figures_32)
    summary["machine"] = machine_load()
    out = ROOT / "bench" / "results" / "heap.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".json.partial")
    partial.write_text(json.dumps(summary, indent=1) + "\n")
    partial.replace(out)  # whole or not at all
    print(json.dumps(summary))
    return 0


def machine_load() -> str:
    """How busy the machine was (a heap figure should not move with it; the run time does)."""
    busy = os.environ.get("REPCUE_BENCH_LOAD", "")
    return f"load average {os.getloadavg()[0]:.1f}" + (f", {busy}" if busy else "")


if __name__ == "__main__":
    sys.exit(main())
