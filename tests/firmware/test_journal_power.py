"""Power cuts at every flash write of a small journal workload, in real MicroPython.

The workload runs on a fresh image (formatting included) with the flash armed to lose power
at its Nth program/erase, for every N the workload reaches, torn and clean. After each cut
the image is mounted again and checked: it mounts, every session whose end_session returned
is there byte for byte, the interrupted session is closed as power_lost with every step
whose append returned, and the program is the old or the new one.
"""

from __future__ import annotations

import json
from pathlib import Path

from repcue_fw.wire.host import program as wp
from tests.mpy import run_mpy

HARNESS = """
import json, os, vfs
from repcue_fw.boards.sim import flash as sim_flash
from repcue_fw.journal import Journal
from repcue_fw.wire.host import records as wr

STEPS = [
    (0, 0, 0, 600, 600001, []),
    (1, 1, 1, 400, 80250, [40100, 80250]),
    (2, 2, 0, 90, 90000, []),
    (3, 1, 1, 400, 79000, list(range(1000, 21000, 1000))),
    (4, 4, 3, 600, 1234, []),
]

def session_bytes(sid, steps, end, program):
    s = wr.StoredSession(sid, 77, 0, 1000 * sid, [wr.StoredStep(*t) for t in steps],
                         end, 5000 * sid, 0, 0, 4, 1, program)
    return wr.encode_session(s)

def boot(bdev):
    sim_flash.mount(bdev, "/flash")
    return Journal("/flash/rc", 4096)

def down(bdev, j):
    if j is not None:
        j.close()
    try:
        vfs.umount("/flash")
    except OSError:
        pass
    bdev.close()

def read_all(j, sid):
    out = b""
    buf = bytearray(64)
    while True:
        n = j.read_session_into(sid, len(out), memoryview(buf))
        if not n:
            return out
        out += buf[:n]

class State:
    def __init__(self):
        self.ended = {}       # sid -> bytes of a session whose end_session returned
        self.acked = []       # ids passed to ack (may be reclaimed)
        self.open = 0         # sid being recorded
        self.kept = []        # its steps whose append returned
        self.program = None   # last program whose install returned
        self.installing = None

def workload(st, j):
    for k in range(2):
        st.installing = PROGRAMS[k]
        j.install_program(PROGRAMS[k])
        st.program, st.installing = PROGRAMS[k], None
        sid = j.begin_session(77, 0, 1000 * (len(st.ended) + 1))
        st.open, st.kept = sid, []
        steps = STEPS[k:k + 3]
        for t in steps:
            j.append_step(*t)
            st.kept.append(t)
        j.end_session(5000 * sid, 0, 0, 4, 1, wr.END_STOPPED)
        st.ended[sid] = session_bytes(sid, steps, wr.END_STOPPED, PROGRAMS[k])
        st.open, st.kept = 0, []
    st.acked = list(st.ended)
    j.ack(st.acked)
    sid = j.begin_session(77, 0, 3000)
    st.open = sid
    for t in STEPS:
        j.append_step(*t)
        st.kept.append(t)

def check(st, j):
    problems = []
    listed = {e[0]: e for e in j.list_sessions()}
    for sid, data in st.ended.items():
        if sid not in listed:
            if sid not in st.acked:
                problems.append("session %d lost" % sid)
        elif read_all(j, sid) != data:
            problems.append("session %d changed" % sid)
    for sid in listed:
        if not listed[sid][2]:
            problems.append("session %d still open" % sid)
        if sid in st.ended:
            continue
        s = wr.decode_session(read_all(j, sid))
        want = [wr.StoredStep(*t) for t in st.kept] if sid == st.open else []
        if s.steps[:len(want)] != want or len(s.steps) > len(want) + 1:
            problems.append("session %d has %d steps, %d appended" % (sid, len(s.steps), len(want)))
        if s.program not in (b"", st.program):  # torn while copied: no program, no steps
            problems.append("session %d carries the wrong program" % sid)
        if s.program == b"" and s.steps:
            problems.append("session %d lost its program" % sid)
        if s.end_reason not in (wr.END_POWER_LOST, wr.END_STOPPED):
            problems.append("session %d ended %r" % (sid, s.end_reason))
    if st.open and st.kept and st.open not in listed:
        problems.append("open session %d gone" % st.open)
    got = j.program_bytes()
    if got != st.program and got != st.installing:
        problems.append("program mixed up")
    return problems

def trial(cut_at, torn):
    try:
        os.remove(IMG)
    except OSError:
        pass
    st = State()
    bdev = sim_flash.SimFlash(IMG, 4096, 12, cut_at, torn, cut_at)
    j = None
    try:
        j = boot(bdev)
        workload(st, j)
    except Exception as e:
        if not bdev.cut:
            return ["error without a cut: %r" % (e,)], False, 0
    cut = bdev.cut
    ops = bdev.ops
    down(bdev, j)
    bdev = sim_flash.SimFlash(IMG, 4096, 12)
    try:
        j = boot(bdev)
    except Exception as e:
        return ["boot failed: %r" % (e,)], cut, ops
    problems = check(st, j)
    down(bdev, j)
    return problems, cut, ops

_, cut, total = trial(0, False)
result = {"total_ops": total, "trials": 0, "cuts": 0, "problems": []}
for n in range(1, total + 1):
    for torn in (True, False):
        problems, cut, _ = trial(n, torn)
        result["trials"] += 1
        result["cuts"] += 1 if cut else 0
        for p in problems:
            result["problems"].append("cut at %d (%s): %s" % (n, "torn" if torn else "clean", p))
print(json.dumps(result))
"""


def test_a_cut_at_every_write_loses_nothing_completed(tmp_path: Path) -> None:
    programs = [
        wp.encode(wp.Program([wp.Step(1, 0, 60)])),
        wp.encode(wp.Program([wp.Step(2, 0, 90 + i) for i in range(60)])),  # over 128 bytes
    ]
    out = run_mpy(
        f"IMG = {str(tmp_path / 'flash.img')!r}\nPROGRAMS = {programs!r}\n" + HARNESS,
        timeout_s=110,
    )
    result = json.loads(out.splitlines()[-1])
    assert result["problems"] == []
    assert result["total_ops"] >= 40  # the workload really writes: format, install, record
    assert result["cuts"] == result["trials"] == 2 * result["total_ops"]
