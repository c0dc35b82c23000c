"""Power-cut bench: 200+ power losses at random flash writes while the journal records
sessions, installs programs, acknowledges synced sessions (its ack log) and reclaims them,
in the real MicroPython VM.

Each trial boots the journal on a simulated NOR flash image (boards/sim/flash.py) armed to
lose power at a random program/erase (torn or clean), runs the workload until the power
goes, then reboots and checks: the flash mounts and the journal opens (else a boot
failure), every session that was completed before the cut is still there byte for byte
(unless the host had acknowledged it, which allows reclaiming it), the session being
recorded came back complete (power_lost) with every step whose append had returned, the
installed program is the old one or the new one, and the acked set is old-or-new (every ack
that returned holds, no session is acked that was never sent). The image carries over
between trials. Some reboots are armed too, so cuts also land in the boot-time recovery.

Prints the figures with their targets; the last line is one JSON object, also written to
bench/results/power_cut.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
RESULTS = ROOT / "bench" / "results" / "power_cut.json"

# Runs inside MicroPython. Parameters come in as globals prepended to this text.
HARNESS = r"""
import binascii, gc, json, os, vfs
from repcue_fw.boards.sim import flash as sim_flash
from repcue_fw.journal import Journal, JournalFull
from repcue_fw.wire.host import records as R
from repcue_fw.wire.host import program as wp

MP = "/flash"
JROOT = MP + "/repcue"
BLOCK = 4096
PID = 0x5EED


class Rng:
    def __init__(self, seed):
        self.x = (seed & 0x7FFFFFFF) or 1

    def below(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n


rng = Rng(SEED)
stats = {}
for key in ("cuts", "torn_cuts", "recovery_cuts", "boot_failures", "sessions_lost",
            "steps_lost", "program_mixups", "unexpected_errors", "sessions_completed",
            "sessions_recovered", "sessions_reclaimed", "steps_written", "installs",
            "journal_full", "flash_ops", "acks", "ack_cuts", "acks_wrong"):
    stats[key] = 0
problems = []


def program(reps):
    work = wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 400 + reps, wp.TARGET_PACE, 3, 2250)
    easy = wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 90)
    return wp.encode(wp.Program([wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600),
                                 wp.Repeat(reps, [work, easy]),
                                 wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600)]))


PROGRAMS = [program(2), program(6), program(40),
            wp.encode(wp.Program([wp.Step(1, 0, 60 + i % 7) for i in range(120)]))]

# What the host side knows.
done = {}           # session id -> (size, crc32) of a completed session
acked = set()       # ids whose ack may have reached the flash
ack_done = set()    # ids whose ack returned: acked after any later cut (until reclaimed)
acking = False      # j.ack in flight
cur = None          # the flash of the workload, to aim a cut at an ack or a start
installed = None    # bytes of the last install that returned
candidate = None    # bytes of an install in flight
open_sid = 0        # session being recorded, 0 when none
durable = []        # steps (index, kind, reason, planned, elapsed, laps) whose append returned
inflight = None     # the step being appended, or "end"
beginning = False   # begin_session in flight


def problem(key, text):
    stats[key] += 1
    if len(problems) < 20:
        problems.append(text)


def arm(cut_at, torn):
    return sim_flash.SimFlash(IMG, BLOCK, BLOCKS, cut_at, torn, rng.below(1 << 30) + 1)


def boot(bdev):
    sim_flash.mount(bdev, MP)
    return Journal(JROOT)


def shutdown(bdev, j):
    if j is not None:
        try:
            j.close()
        except Exception:
            pass
    try:
        vfs.umount(MP)
    except Exception:
        pass
    stats["flash_ops"] += bdev.ops
    bdev.close()


def read_all(j, sid):
    buf = bytearray(128)
    off = 0
    crc = 0
    chunks = []
    while True:
        n = j.read_session_into(sid, off, buf)
        if not n:
            break
        crc = binascii.crc32(memoryview(buf)[:n], crc)
        chunks.append(bytes(buf[:n]))
        off += n
    return off, crc, b"".join(chunks)


def as_tuple(d):
    return (d[0], d[1], d[2], d[3], d[4], tuple(d[5]))


def sync(j, ids):
    global acking
    for i in ids:
        acked.add(i)
    if ids:
        if cur is not None and rng.below(3) == 0:
            # aim a cut into the ack-log append (an ack is only a few flash ops)
            cur.cut_at = cur.ops + 1 + rng.below(6)
        acking = True
        j.ack(ids)
        acking = False
        stats["acks"] += 1
        for i in ids:
            ack_done.add(i)


def record(j):
    global open_sid, durable, inflight, beginning
    beginning = True
    if cur is not None and rng.below(8) == 0:
        # aim a cut at the start: reclaiming acked sessions and compacting the ack log
        cur.cut_at = cur.ops + 1 + rng.below(16)
    try:
        sid = j.begin_session(PID, rng.below(2) * 1700000000, rng.below(1 << 30))
    except JournalFull:
        # the device refused to start: the runner goes home and syncs
        beginning = False
        stats["journal_full"] += 1
        sync(j, [i for i in done if i not in acked])
        return
    beginning = False
    open_sid = sid
    durable = []
    for i in range(3 + rng.below(30)):
        laps = []
        if rng.below(5) == 4:
            laps = [1000 * (k + 1) + rng.below(999) for k in range(17 + rng.below(30))]
        elif rng.below(3) == 2:
            laps = [rng.below(100000)]
        inflight = (i, rng.below(5), rng.below(4), rng.below(2000), rng.below(4000000), laps)
        j.append_step(*inflight)
        durable.append(inflight)
        inflight = None
        stats["steps_written"] += 1
    inflight = "end"
    j.end_session(rng.below(5000000), rng.below(60000), rng.below(5), rng.below(30),
                  rng.below(10), rng.below(2))
    size, crc, _ = read_all(j, sid)
    done[sid] = (size, crc)
    inflight = None
    open_sid = 0
    durable = []
    stats["sessions_completed"] += 1


def workload(j):
    global installed, candidate
    while True:
        action = rng.below(10)
        if action < 2 and not host_away:
            # the host syncs some of the sessions (not the newest two): so the flash
            # fills up with acked and unsynced sessions mixed, and runs full now and then
            ids = sorted(done)
            sync(j, [i for i in ids[: max(0, len(ids) - 2)] if i not in acked and rng.below(3)])
        elif action < 4:
            candidate = PROGRAMS[rng.below(len(PROGRAMS))]
            j.install_program(candidate)
            installed = candidate
            candidate = None
            stats["installs"] += 1
        else:
            record(j)


def check_recovered(j, sid, newest):
    # a session that was being recorded (or begun) when the power went
    size, crc, data = read_all(j, sid)
    done[sid] = (size, crc)
    stats["sessions_recovered"] += 1
    try:
        s = R.decode_session(data)
    except Exception as e:
        problem("sessions_lost", "recovered session %d does not decode: %s" % (sid, e))
        return
    if sid != open_sid and not (beginning_at_cut and sid == newest):
        problem("unexpected_errors", "unexpected session %d" % sid)
    got = [(t.index, t.kind, t.end_reason, t.planned, t.elapsed_ms, tuple(t.laps_ms))
           for t in s.steps]
    want = [as_tuple(d) for d in durable] if sid == open_sid else []
    if got[: len(want)] != want:
        problem("steps_lost", "session %d: %d steps kept of %d" % (sid, len(got), len(want)))
    extra = got[len(want):]
    maybe = as_tuple(inflight) if isinstance(inflight, tuple) else None
    if len(extra) > 1 or (extra and extra[0] != maybe):
        problem("unexpected_errors", "session %d has steps never appended" % sid)
    if not s.complete:
        problem("sessions_lost", "recovered session %d has no end record" % sid)
    elif s.end_reason != R.END_POWER_LOST and inflight != "end":
        problem("unexpected_errors", "session %d ended without an end call" % sid)


def verify(j):
    global open_sid, durable, inflight, candidate, installed
    listed = {}
    for sid, size, complete in j.list_sessions(0, 10000):
        listed[sid] = size
        if not complete:
            problem("sessions_lost", "session %d not complete after boot" % sid)
    for sid in sorted(done):
        if sid not in listed:
            del done[sid]
            ack_done.discard(sid)
            if sid in acked:
                acked.discard(sid)
                stats["sessions_reclaimed"] += 1
            else:
                problem("sessions_lost", "completed session %d missing" % sid)
            continue
        size, crc, _ = read_all(j, sid)
        if (size, crc) != done[sid]:
            problem("sessions_lost", "completed session %d changed" % sid)
            done[sid] = (size, crc)
    for sid in sorted(listed):
        # the acked set is old-or-new: every ack that returned, none never sent
        if j.acked(sid):
            if sid not in acked:
                problem("acks_wrong", "session %d acked but never acknowledged" % sid)
        elif sid in ack_done:
            problem("acks_wrong", "session %d lost its ack" % sid)
        elif sid in acked:
            acked.discard(sid)  # its ack was cut off: it must not be reclaimed now
    newest = max(listed) if listed else 0
    for sid in sorted(listed):
        if sid not in done:
            check_recovered(j, sid, newest)
    if open_sid and durable and open_sid not in listed:
        problem("sessions_lost", "session %d being recorded is gone" % open_sid)
    open_sid = 0
    durable = []
    inflight = None
    got = j.program_bytes()
    if got != installed and (candidate is None or got != candidate):
        problem("program_mixups", "program is neither the old nor the new one")
    installed = got
    candidate = None


def new_image():
    global installed
    try:
        os.remove(IMG)
    except OSError:
        pass
    done.clear()
    acked.clear()
    ack_done.clear()
    installed = None


new_image()
beginning_at_cut = False
host_away = False  # for stretches of trials no sync comes: unsynced sessions pile up
for trial in range(CUTS):
    if rng.below(6) == 0:
        host_away = not host_away
    torn = rng.below(4) != 0
    bdev = arm(1 + rng.below(MAX_OP), torn)
    j = None
    try:
        j = boot(bdev)
        cur = bdev
        workload(j)
    except Exception as e:
        if not bdev.cut:
            problem("unexpected_errors", "error without a power cut: %r" % (e,))
    cur = None
    beginning_at_cut = beginning
    beginning = False
    if bdev.cut:
        stats["cuts"] += 1
        stats["ack_cuts"] += 1 if acking else 0
        stats["torn_cuts"] += 1 if torn else 0
    acking = False
    shutdown(bdev, j)
    j = None
    gc.collect()
    if rng.below(4) == 0:
        # a second cut, early in the next boot: inside the recovery of the first
        bdev = arm(1 + rng.below(6), rng.below(2) == 0)
        j = None
        try:
            j = boot(bdev)
        except Exception as e:
            if not bdev.cut:
                problem("boot_failures", "boot failed: %r" % (e,))
        if bdev.cut:
            stats["cuts"] += 1
            stats["recovery_cuts"] += 1
        shutdown(bdev, j)
        j = None
    bdev = arm(0, False)
    try:
        j = boot(bdev)
    except Exception as e:
        problem("boot_failures", "boot failed: %r" % (e,))
        shutdown(bdev, None)
        new_image()
        continue
    verify(j)
    shutdown(bdev, j)
    j = None
    gc.collect()

stats["problems"] = problems
print(json.dumps(stats))
"""


def micropython() -> str:
    here = Path(sys.executable).parent / "micropython"
    return str(here) if here.exists() else "micropython"


def run_worker(seed: int, cuts: int, blocks: int, max_op: int, workdir: str) -> dict[str, object]:
    image = os.path.join(workdir, f"flash-{seed}.img")
    code = (
        f"SEED = {seed}\nCUTS = {cuts}\nBLOCKS = {blocks}\nMAX_OP = {max_op}\n"
        f"IMG = {json.dumps(image)}\n" + HARNESS
    )
    script = os.path.join(workdir, f"harness-{seed}.py")
    Path(script).write_text(code)
    env = dict(os.environ, MICROPYPATH=f"{FIRMWARE}:.frozen")
    proc = subprocess.run(
        [micropython(), "-X", "heapsize=2M", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {seed} failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=240, help="armed trials in all")
    parser.add_argument("--workers", type=int, default=2, help="MicroPython processes")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--blocks", type=int, default=48, help="flash blocks of 4 KiB")
    parser.add_argument("--max-op", type=int, default=400, help="cut within the first N ops")
    args = parser.parse_args()

    started = time.monotonic()
    per = [args.cuts // args.workers + (i < args.cuts % args.workers) for i in range(args.workers)]
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(args.workers) as pool:
        results = list(
            pool.map(
                lambda i: run_worker(
                    args.seed + 7919 * i, per[i], args.blocks, args.max_op, workdir
                ),
                range(args.workers),
            )
        )
    totals: dict[str, int] = {}
    problems: list[str] = []
    for r in results:
        for key, value in r.items():
            if key == "problems":
                problems.extend(str(p) for p in value)  # type: ignore[attr-defined]
            else:
                totals[key] = totals.get(key, 0) + int(value)  # type: ignore[call-overload]
    elapsed_s = time.monotonic() - started

    print(f"power cuts:            {totals['cuts']:6d}   (target >= 200)")
    print(f"  torn writes/erases:  {totals['torn_cuts']:6d}")
    print(f"  during boot recovery:{totals['recovery_cuts']:6d}")
    print(f"  during an ack:       {totals['ack_cuts']:6d}")
    print(f"sessions_lost:         {totals['sessions_lost']:6d}   (target 0)")
    print(f"boot_failures:         {totals['boot_failures']:6d}   (target 0)")
    print(f"steps_lost:            {totals['steps_lost']:6d}   (target 0)")
    print(f"program_mixups:        {totals['program_mixups']:6d}   (target 0)")
    print(f"acks_wrong:            {totals['acks_wrong']:6d}   (target 0)")
    print(f"unexpected_errors:     {totals['unexpected_errors']:6d}   (target 0)")
    print(f"sessions completed:    {totals['sessions_completed']:6d}")
    print(f"sessions recovered:    {totals['sessions_recovered']:6d}   (closed as power_lost)")
    print(f"sessions reclaimed:    {totals['sessions_reclaimed']:6d}   (acked, space reused)")
    print(f"steps written:         {totals['steps_written']:6d}")
    print(f"programs installed:    {totals['installs']:6d}")
    print(f"acks (requests):       {totals['acks']:6d}")
    print(f"starts refused (full): {totals['journal_full']:6d}   (flash full of unsynced sessions)")
    print(f"flash program/erase:   {totals['flash_ops']:6d}")
    print(f"elapsed:               {elapsed_s:6.1f} s")
    for p in problems:
        print("problem:", p)
    summary = {
        "cuts": totals["cuts"],
        "sessions_lost": totals["sessions_lost"],
        "boot_failures": totals["boot_failures"],
        "steps_lost": totals["steps_lost"],
        "program_mixups": totals["program_mixups"],
        "unexpected_errors": totals["unexpected_errors"],
        "acks_wrong": totals["acks_wrong"],
        "torn_cuts": totals["torn_cuts"],
        "recovery_cuts": totals["recovery_cuts"],
        "ack_cuts": totals["ack_cuts"],
        "acks": totals["acks"],
        "sessions_completed": totals["sessions_completed"],
        "sessions_recovered": totals["sessions_recovered"],
        "sessions_reclaimed": totals["sessions_reclaimed"],
        "steps_written": totals["steps_written"],
        "journal_full": totals["journal_full"],
        "elapsed_s": round(elapsed_s, 1),
    }
    line = json.dumps(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
