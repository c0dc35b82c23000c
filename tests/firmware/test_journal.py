"""The journal in the real MicroPython VM, on littlefs over the simulated NOR flash."""

from __future__ import annotations

import json
from pathlib import Path

from repcue_fw.wire.host import program as wp
from repcue_fw.wire.host import records as wr
from tests.mpy import run_mpy

PRELUDE = """
import json, os, vfs, binascii
from repcue_fw.boards.sim import flash as sim_flash
from repcue_fw.journal import Journal, JournalFull, JournalError
from repcue_fw.wire import WireError
from repcue_fw.wire.host import records as wr

def boot(blocks=32, reserve=0):
    bdev = sim_flash.SimFlash(IMG, 4096, blocks)
    sim_flash.mount(bdev, "/flash")
    return bdev, Journal("/flash/rc", reserve)

def down(bdev, j):
    j.close()
    vfs.umount("/flash")
    bdev.close()

def read_all(j, sid, chunk=7):
    out = b""
    buf = bytearray(chunk)
    while True:
        n = j.read_session_into(sid, len(out), memoryview(buf))
        if not n:
            return out
        out += buf[:n]

def record(j, steps, end=wr.END_FINISHED, program_id=0xC0FFEE, wall=1700000000, uptime=4321):
    sid = j.begin_session(program_id, wall, uptime)
    for s in steps:
        j.append_step(*s)
    if end is not None:
        j.end_session(sum(s[4] for s in steps) + 1500, 1500, 1, 9, 2, end)
    return sid

def emit(value):
    print(json.dumps(value))
"""

STEPS = [
    (0, wp.KIND_WARMUP, wr.END_TIME, 600, 600_004, []),
    (1, wp.KIND_WORK, wr.END_LAP, 800, 181_250, [90_000, 181_250]),
    (2, wp.KIND_RECOVERY, wr.END_SKIP, 90, 41_000, []),
    (3, wp.KIND_WORK, wr.END_LAP, 3000, 700_000, list(range(20_000, 720_000, 20_000))),
    (4, wp.KIND_COOLDOWN, wr.END_STOP, 600, 12_345, []),
]


def expected(
    sid: int, steps: list[tuple[int, int, int, int, int, list[int]]], program: bytes = b""
) -> bytes:
    """The exact bytes the journal must store for PRELUDE's record() of these steps (with
    `program` installed)."""
    session = wr.StoredSession(
        sid,
        0xC0FFEE,
        1_700_000_000,
        4321,
        [wr.StoredStep(*s) for s in steps],
        wr.END_FINISHED,
        sum(s[4] for s in steps) + 1500,
        1500,
        1,
        9,
        2,
        program,
    )
    return wr.encode_session(session)


def mpy(tmp_path: Path, code: str) -> list[object]:
    image = str(tmp_path / "flash.img")
    out = run_mpy(f"IMG = {image!r}\nSTEPS = {json.dumps(STEPS)}\n" + PRELUDE + code)
    return [json.loads(line) for line in out.splitlines()]


def test_a_recorded_session_reads_back_byte_for_byte(tmp_path: Path) -> None:
    (listing, data, sizes), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "sid = record(j, STEPS)\n"
        "data = read_all(j, sid)\n"
        "buf = bytearray(10)\n"
        "sizes = [j.read_session_into(sid, 0, buf), j.read_session_into(sid, len(data), buf)]\n"
        "emit([j.list_sessions(), binascii.hexlify(data).decode(), sizes])\n",
    )
    want = expected(1, STEPS)
    assert data == want.hex()
    assert listing == [[1, len(want), True]]
    assert sizes == [10, 0]
    session = wr.decode_session(want)
    assert session.steps[3].laps_ms == STEPS[3][5]  # 35 laps: one STEP_LAPS + two LAPS records


def test_an_existing_image_mounts_with_its_sessions_and_ids_continue(tmp_path: Path) -> None:
    prog = wp.encode(wp.Program([wp.Step(1, 0, 60)]))
    mpy(
        tmp_path,
        f"PROGRAM = {prog!r}\n"
        "bdev, j = boot()\n"
        "record(j, STEPS[:2]); record(j, STEPS[2:])\n"
        "j.install_program(PROGRAM)\n"
        "down(bdev, j)\n",
    )
    # a second MicroPython process: nothing but the image file carries over
    (listing, first, second, recovered, third, prog), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "listing = j.list_sessions()\n"
        "a = binascii.hexlify(read_all(j, 1)).decode()\n"
        "b = binascii.hexlify(read_all(j, 2)).decode()\n"
        "sid = record(j, STEPS[:1])\n"
        "emit([listing, a, b, j.recovered, sid, binascii.hexlify(j.program_bytes()).decode()])\n",
    )
    assert listing == [
        [1, len(expected(1, STEPS[:2])), True],
        [2, len(expected(2, STEPS[2:])), True],
    ]
    assert first == expected(1, STEPS[:2]).hex()
    assert second == expected(2, STEPS[2:]).hex()
    assert recovered == []
    assert third == 3
    assert prog == wp.encode(wp.Program([wp.Step(1, 0, 60)])).hex()
    assert (tmp_path / "flash.img").stat().st_size == 32 * 4096


def test_list_sessions_after_id_and_max_n(tmp_path: Path) -> None:
    (everything, after, limited, past_end), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "for _ in range(5):\n    record(j, STEPS[:1])\n"
        "j.begin_session(1, 0, 0)\n"
        "ids = lambda r: [e[0] for e in r]\n"
        "emit([[(e[0], e[2]) for e in j.list_sessions()], ids(j.list_sessions(3)),\n"
        "      ids(j.list_sessions(1, 2)), j.list_sessions(6)])\n",
    )
    assert everything == [[1, True], [2, True], [3, True], [4, True], [5, True], [6, False]]
    assert after == [4, 5, 6]
    assert limited == [2, 3]
    assert past_end == []


def test_a_session_cut_off_is_closed_as_power_lost_with_its_steps(tmp_path: Path) -> None:
    mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "record(j, STEPS[:1])\n"
        "record(j, STEPS[:3], end=None)\n"
        "down(bdev, j)\n",  # no end_session: as if the power went
    )
    (recovered, listing, data), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "emit([j.recovered, j.list_sessions(), binascii.hexlify(read_all(j, 2)).decode()])\n",
    )
    assert recovered == [2]
    assert [e[2] for e in listing] == [True, True]
    session = wr.decode_session(bytes.fromhex(data))
    assert session.end_reason_name == "power_lost"
    assert session.steps == [wr.StoredStep(*s) for s in STEPS[:3]]
    assert session.total_ms == sum(s[4] for s in STEPS[:3])
    assert (session.session_id, session.start_wall_s, session.start_uptime_ms) == (
        2,
        1_700_000_000,
        4321,
    )


def test_beginning_again_keeps_an_unended_session_as_power_lost(tmp_path: Path) -> None:
    (ids, first, listing), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "a = record(j, STEPS[:2], end=None)\n"
        "b = record(j, STEPS[2:3])\n"
        "emit([[a, b], binascii.hexlify(read_all(j, a)).decode(), j.list_sessions()])\n",
    )
    assert ids == [1, 2]
    session = wr.decode_session(bytes.fromhex(first))
    assert session.end_reason == wr.END_POWER_LOST
    assert len(session.steps) == 2
    assert [e[2] for e in listing] == [True, True]


def test_the_open_session_reads_as_incomplete(tmp_path: Path) -> None:
    (listing, data), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "sid = record(j, STEPS[:2], end=None)\n"
        "first = read_all(j, sid)\n"
        "j.append_step(*STEPS[2])\n"
        "emit([j.list_sessions(), binascii.hexlify(read_all(j, sid)).decode()])\n",
    )
    assert listing[0][2] == 0  # flags: not complete, not acknowledged
    session = wr.decode_session(bytes.fromhex(data))
    assert not session.complete
    assert len(session.steps) == 3  # the reader sees the step appended after its first read


def test_journal_full_refuses_a_start_and_keeps_every_unsynced_session(tmp_path: Path) -> None:
    (code, ids, stored, free_before, free_after), *_ = mpy(
        tmp_path,
        "bdev, j = boot(blocks=16)\n"
        "ids = []\n"
        "try:\n"
        "    while True:\n"
        "        ids.append(record(j, STEPS))\n"
        "except JournalFull as e:\n"
        "    code = e.code\n"
        "free_before = j.free_bytes()\n"
        "try:\n"
        "    j.begin_session(1, 0, 0)\n"
        "except JournalFull:\n"
        "    pass\n"
        "stored = [[e[0], binascii.hexlify(read_all(j, e[0], 64)).decode()]\n"
        "          for e in j.list_sessions()]\n"
        "emit([code, ids, stored, free_before, j.free_bytes()])\n",
    )
    assert code == 10  # ST_STORAGE_FULL in wire/host/opcodes.py
    assert len(ids) >= 3
    assert stored == [[sid, expected(sid, STEPS).hex()] for sid in ids]
    assert free_before == free_after


def test_reclaim_takes_only_acked_sessions_oldest_first(tmp_path: Path) -> None:
    (full_ids, acked_newly, new_id, remaining, acked_left), *_ = mpy(
        tmp_path,
        "bdev, j = boot(blocks=24)\n"
        "ids = []\n"
        "try:\n"
        "    while True:\n"
        "        ids.append(record(j, STEPS))\n"
        "except JournalFull:\n"
        "    pass\n"
        "n = j.ack([ids[3], ids[1], ids[2], 999, ids[1]])\n"
        "sid = record(j, STEPS[:1])\n"
        "emit([ids, n, sid, [e[0] for e in j.list_sessions()],\n"
        "      [s for s in ids if j.acked(s)]])\n",
    )
    assert acked_newly == 3  # unknown and repeated ids are skipped
    assert new_id == full_ids[-1] + 1
    reclaimed = sorted(set(full_ids) - set(remaining))
    assert reclaimed  # the new session needed room
    assert set(reclaimed) <= {full_ids[1], full_ids[2], full_ids[3]}
    assert reclaimed == [full_ids[1], full_ids[2], full_ids[3]][: len(reclaimed)]  # oldest first
    assert full_ids[0] in remaining and all(s in remaining for s in full_ids[4:])
    assert acked_left == [s for s in [full_ids[1], full_ids[2], full_ids[3]] if s not in reclaimed]


def test_ids_are_never_reused_after_every_session_is_reclaimed(tmp_path: Path) -> None:
    (before, after, listing), *_ = mpy(
        tmp_path,
        "bdev, j = boot(blocks=16)\n"
        "ids = [record(j, STEPS) for _ in range(3)]\n"
        "j.ack(ids)\n"
        "j.reserve_bytes = j.free_bytes() + 3 * 4096 * 4\n"  # ask for more than can be freed
        "try:\n"
        "    j.begin_session(1, 0, 0)\n"
        "except JournalFull:\n"
        "    pass\n"
        "left = j.list_sessions()\n"
        "down(bdev, j)\n"
        "bdev, j = boot(blocks=16)\n"
        "emit([ids, record(j, STEPS[:1]), left])\n",
    )
    assert listing == []  # all acked sessions were reclaimed trying to make room
    assert after == before[-1] + 1


def test_listing_steps_over_short_and_long_gaps_of_reclaimed_ids(tmp_path: Path) -> None:
    # Sessions are listed by probing the ids after the cursor; past a run of missing ids
    # (more than journal.sessions._MAX_GAP) the journal falls back to a directory scan.
    (ids, whole, after1, paged, after_gap, open_one), *_ = mpy(
        tmp_path,
        "from repcue_fw.journal import space as journal_space\n"
        "bdev, j = boot(blocks=64)\n"
        "ids = [record(j, STEPS[:1]) for _ in range(20)]\n"
        "j.ack(ids[1:4] + ids[5:17])\n"
        "try:\n"
        "    journal_space.make_room(j, j.free_bytes() + 64 * 4096)\n"  # reclaims every acked one
        "except JournalFull:\n"
        "    pass\n"
        "sid = j.begin_session(1, 0, 0)\n"
        "ls = lambda *a: [[e[0], e[2]] for e in j.list_sessions(*a)]\n"
        "emit([ids, ls(), ls(1), ls(1, 2), ls(6, 2), ls(ids[-1])])\n",
    )
    kept = [ids[0], ids[4], *ids[17:]]
    new_id = ids[-1] + 1
    assert [sid for sid, _ in whole] == [*kept, new_id]
    assert after1 == [[sid, True] for sid in kept[1:]] + [[new_id, False]]
    assert paged == [[ids[4], True], [ids[17], True]]  # a gap of 3, then one of 12
    assert after_gap == [[ids[17], True], [ids[18], True]]
    assert open_one == [[new_id, False]]  # the session being recorded: incomplete


def test_ack_skips_the_open_session_and_survives_a_remount(tmp_path: Path) -> None:
    (n, acked), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "a = record(j, STEPS[:1]); b = record(j, STEPS[:1]); c = record(j, STEPS[:1], end=None)\n"
        "n = j.ack([a, c])\n"
        "down(bdev, j)\n"
        "bdev, j = boot()\n"
        "emit([n, [j.acked(s) for s in (a, b, c)]])\n",
    )
    assert n == 1
    assert acked == [True, False, False]


def test_program_install_replaces_and_rejects_bad_bytes(tmp_path: Path) -> None:
    one = wp.encode(wp.Program([wp.Step(1, 0, 60)]))
    two = wp.encode(wp.Program([wp.Step(2, 0, 90)] * 100))  # > 128 bytes: its own block
    bad = bytearray(two)
    bad[5] ^= 1
    (none, pid1, got1, pid2, got2, codes, still), *_ = mpy(
        tmp_path,
        f"ONE = {one!r}\nTWO = {two!r}\nBAD = {bytes(bad)!r}\n"
        "bdev, j = boot()\n"
        "none = j.program_bytes()\n"
        "p1 = j.install_program(ONE); g1 = j.program_bytes()\n"
        "p2 = j.install_program(TWO); g2 = j.program_bytes()\n"
        "codes = []\n"
        "for data in (BAD, b'\\x01\\x02', TWO[:-4]):\n"
        "    try:\n"
        "        j.install_program(data)\n"
        "    except JournalError as e:\n"
        "        codes.append(e.code)\n"
        "down(bdev, j)\n"
        "bdev, j = boot()\n"
        "h = lambda b: binascii.hexlify(b).decode()\n"
        "emit([none, p1, h(g1), p2, h(g2), codes, h(j.program_bytes())])\n",
    )
    assert none is None
    assert (pid1, got1) == (wp.program_id(one), one.hex())
    assert (pid2, got2) == (wp.program_id(two), two.hex())
    assert codes == [11, 11, 11]  # ST_BAD_PROGRAM
    assert still == two.hex()


def test_misuse_raises_typed_errors_and_writes_nothing(tmp_path: Path) -> None:
    (errors, steps), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "errors = []\n"
        "def attempt(fn, *args):\n"
        "    try:\n"
        "        fn(*args)\n"
        "    except JournalError as e:\n"
        "        errors.append(['journal', e.code])\n"
        "    except WireError as e:\n"
        "        errors.append(['wire', e.field])\n"
        "attempt(j.append_step, *STEPS[0])\n"
        "attempt(j.end_session, 1, 0, 0, 0, 0, 0)\n"
        "attempt(j.read_session_into, 42, 0, memoryview(bytearray(10)))\n"
        "sid = j.begin_session(1, 0, 0)\n"
        "attempt(j.append_step, 0, 9, 0, 60, 1000, [])\n"
        "attempt(j.append_step, 0, 1, 0, 60, 1000, [5] * 20 + [-1])\n"
        "attempt(j.end_session, 1, 0, 0, 0, 0, 7)\n"
        "j.append_step(*STEPS[1])\n"
        "j.end_session(1, 0, 0, 0, 0, 0)\n"
        "emit([errors, len(wr.decode_session(read_all(j, sid)).steps)])\n",
    )
    assert errors == [
        ["journal", 6],
        ["journal", 6],
        ["journal", 9],
        ["wire", "kind"],
        ["wire", "lap_ms"],
        ["wire", "end_reason"],
    ]
    assert steps == 1


def test_a_session_keeps_the_program_it_ran_after_a_new_upload(tmp_path: Path) -> None:
    first = wp.encode(wp.Program([wp.Step(1, 0, 60)], name="Tuesday track"))
    second = wp.encode(wp.Program([wp.Step(1, 0, 90)], name="Thursday track"))
    (one, two), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        f"j.install_program({first!r})\n"
        "record(j, STEPS[:2])\n"
        f"j.install_program({second!r})\n"
        "record(j, STEPS[2:3])\n"
        "down(bdev, j)\n"
        "bdev, j = boot()\n"
        "h = lambda b: binascii.hexlify(b).decode()\n"
        "emit([h(read_all(j, 1)), h(read_all(j, 2))])\n",
    )
    assert bytes.fromhex(one) == expected(1, STEPS[:2], first)
    assert bytes.fromhex(two) == expected(2, STEPS[2:3], second)
    assert wp.decode(wr.decode_session(bytes.fromhex(one)).program).name == "Tuesday track"


def test_free_bytes_shrinks_as_sessions_are_stored(tmp_path: Path) -> None:
    (before, after, block), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "before = j.free_bytes()\n"
        "for _ in range(3):\n    record(j, STEPS)\n"
        "emit([before, j.free_bytes(), j.block_size])\n",
    )
    assert block == 4096
    assert before - after >= 3 * 4096
    assert before % 4096 == 0 and before > 0


def test_boot_repairs_what_a_cut_can_leave_behind(tmp_path: Path) -> None:
    # Littlefs makes these states unlikely, but the journal must boot through each of them:
    # a torn record at the end of an open session, an end record written but the rename
    # not done, a session file without its header, a half-installed program.
    mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "j.install_program(" + repr(wp.encode(wp.Program([wp.Step(1, 0, 60)]))) + ")\n"
        "record(j, STEPS[2:3])\n"
        "record(j, STEPS[:2], end=None)\n"
        "with open('/flash/rc/s/2.o', 'ab') as f:\n"
        "    f.write(b'\\x40\\x05\\x3c')\n"  # a step record cut short
        "os.rename('/flash/rc/s/1', '/flash/rc/s/1.o')\n"
        "with open('/flash/rc/s/9.o', 'wb') as f:\n"
        "    f.write(b'\\x21')\n"
        "with open('/flash/rc/prog.new', 'wb') as f:\n"
        "    f.write(b'half a program')\n"
        "down(bdev, j)\n",
    )
    (recovered, listing, first, second, names, prog, next_id), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "h = lambda b: binascii.hexlify(b).decode()\n"
        "emit([sorted(j.recovered), j.list_sessions(), h(read_all(j, 1)), h(read_all(j, 2)),\n"
        "      sorted(os.listdir('/flash/rc')), h(j.program_bytes()), j.begin_session(1, 0, 0)])\n",
    )
    assert recovered == [1, 2]
    assert [(e[0], e[2]) for e in listing] == [(1, True), (2, True)]  # 9 had no header
    installed = wp.encode(wp.Program([wp.Step(1, 0, 60)]))
    assert bytes.fromhex(first) == expected(1, STEPS[2:3], installed)  # its own end kept
    two = wr.decode_session(bytes.fromhex(second))
    assert two.end_reason == wr.END_POWER_LOST
    assert two.program == installed
    assert two.steps == [wr.StoredStep(*s) for s in STEPS[:2]]
    assert names == ["prog", "s", "seq"]
    assert prog == wp.encode(wp.Program([wp.Step(1, 0, 60)])).hex()
    assert next_id == 10  # past every id seen on flash


def test_a_long_session_records_in_a_small_heap_without_growing(tmp_path: Path) -> None:
    # 1500 steps in a 192 KB heap (most of it taken by compiling the modules from source;
    # bench/heap.py measures the deployed sizes): nothing per step may stay allocated
    image = str(tmp_path / "flash.img")
    out = run_mpy(
        f"IMG = {image!r}\nSTEPS = []\n" + PRELUDE + "import gc\n"
        "bdev, j = boot()\n"
        "sid = j.begin_session(1, 0, 0)\n"
        "laps = [30000]\n"
        "gc.collect()\n"
        "before = gc.mem_alloc()\n"
        "for i in range(1500):\n"
        "    j.append_step(i, 1, 1, 400, 60000 + i, laps)\n"
        "gc.collect()\n"
        "grown = gc.mem_alloc() - before\n"
        "j.end_session(1, 0, 0, 0, 0, 0)\n"
        "n = 0\n"
        "buf = bytearray(64)\n"
        "size = 0\n"
        "while True:\n"
        "    k = j.read_session_into(sid, size, buf)\n"
        "    if not k:\n"
        "        break\n"
        "    size += k\n"
        "emit([grown, size, j.list_sessions()[0][1]])\n",
        heap_kb=192,
    )
    grown, size, listed = json.loads(out.splitlines()[-1])
    assert grown <= 256  # bytes still held after 1500 appends (no per-step growth)
    assert size == listed
    assert 1500 * 9 <= size <= 1500 * 14 + 40


def test_one_ack_of_many_ids_is_one_small_write(tmp_path: Path) -> None:
    (ops_ack, ops_repeat, n, again, log_size, acked), *_ = mpy(
        tmp_path,
        "bdev, j = boot(blocks=48)\n"
        "ids = [record(j, STEPS[:1]) for _ in range(40)]\n"
        "ops = bdev.ops\n"
        "n = j.ack(ids)\n"
        "ops_ack = bdev.ops - ops\n"
        "ops = bdev.ops\n"
        "again = j.ack(ids)\n"
        "ops_repeat = bdev.ops - ops\n"
        "size = os.stat('/flash/rc/acks')[6]\n"
        "down(bdev, j)\n"
        "bdev, j = boot(blocks=48)\n"
        "emit([ops_ack, ops_repeat, n, again, size, [j.acked(s) for s in ids]])\n",
    )
    assert n == 40 and again == 0
    assert ops_repeat == 0  # repeats cost no flash writes
    assert ops_ack <= 8  # one commit for all 40 ids (a rename each: 40 commits or more)
    assert log_size == 40 * 6
    assert all(acked)


def test_a_torn_ack_log_tail_is_dropped_and_rewritten(tmp_path: Path) -> None:
    (before, after, later, size), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "a = record(j, STEPS[:1]); b = record(j, STEPS[:1]); c = record(j, STEPS[:1])\n"
        "j.ack([a])\n"
        "down(bdev, j)\n"
        "bdev = sim_flash.SimFlash(IMG, 4096, 32)\n"
        "sim_flash.mount(bdev, '/flash')\n"
        "with open('/flash/rc/acks', 'ab') as f:\n"
        "    f.write(bytes([b, 0, 0, 0, 0x12]))\n"  # a torn record: no whole CRC
        "vfs.umount('/flash'); bdev.close()\n"
        "bdev, j = boot()\n"
        "before = [j.acked(s) for s in (a, b, c)]\n"
        "j.ack([c])\n"
        "down(bdev, j)\n"
        "bdev, j = boot()\n"
        "emit([before, [j.acked(s) for s in (a, b, c)], record(j, STEPS[:1]),\n"
        "      os.stat('/flash/rc/acks')[6]])\n",
    )
    assert before == [True, False, False]
    assert after == [True, False, True]  # appended after the rewritten log: still read
    assert later == 4
    assert size == 12


def test_reclaim_compacts_the_ack_log(tmp_path: Path) -> None:
    (before, reclaimed, size, listing), *_ = mpy(
        tmp_path,
        "bdev, j = boot(blocks=16)\n"
        "ids = [record(j, STEPS) for _ in range(3)]\n"
        "j.ack(ids[:2])\n"
        "before = [j.acked(s) for s in ids]\n"
        "j.reserve_bytes = j.free_bytes() + 3 * 4096 * 4\n"  # more than can be freed
        "try:\n"
        "    j.begin_session(1, 0, 0)\n"
        "except JournalFull:\n"
        "    pass\n"
        "try:\n"
        "    size = os.stat('/flash/rc/acks')[6]\n"
        "except OSError:\n"
        "    size = -1\n"
        "emit([before, [j.acked(s) for s in ids], size, [e[0] for e in j.list_sessions()]])\n",
    )
    assert before == [True, True, False]
    assert reclaimed == [False, False, False]
    assert size == -1  # nothing acked is left: the log is gone
    assert listing == [3]  # the unacked session stays


def test_a_stale_id_in_the_ack_log_never_acks_a_new_session(tmp_path: Path) -> None:
    (new_id, acked), *_ = mpy(
        tmp_path,
        "bdev, j = boot()\n"
        "a = record(j, STEPS[:1]); b = record(j, STEPS[:1])\n"
        "j.ack([a, b])\n"
        "down(bdev, j)\n"
        "bdev = sim_flash.SimFlash(IMG, 4096, 32)\n"
        "sim_flash.mount(bdev, '/flash')\n"
        "os.remove('/flash/rc/s/%d' % a); os.remove('/flash/rc/s/%d' % b)\n"  # reclaimed,
        "os.remove('/flash/rc/seq')\n"  # the log not yet compacted, and the counter lost
        "vfs.umount('/flash'); bdev.close()\n"
        "bdev, j = boot()\n"
        "sid = record(j, STEPS[:1])\n"
        "emit([sid, j.acked(sid)])\n",
    )
    assert new_id == 3 and acked is False


def test_boot_and_link_parts_are_loaded_only_while_needed(tmp_path: Path) -> None:
    # boot (recovery) is dropped once it ran; the link's parts (sessions, acks) load with a
    # listing, read or ack and are dropped when a session begins; the journal works on
    (after_boot, after_sync, while_recording, listed, acked), *_ = mpy(
        tmp_path,
        "import sys\n"
        "def parts():\n"
        "    return sorted(n[18:] for n in sys.modules if n.startswith('repcue_fw.journal.')\n"
        "                  and n[18:] in ('boot', 'sessions', 'acks'))\n"
        "bdev, j = boot()\n"
        "first = record(j, STEPS[:2])\n"
        "a = parts()\n"
        "n = j.ack([s[0] for s in j.list_sessions()])\n"
        "b = parts()\n"
        "second = record(j, STEPS[:1], end=None)\n"
        "c = parts()\n"
        "emit([a, b, c, [s[0] for s in j.list_sessions()], [j.acked(first), j.acked(second)]])\n",
    )
    assert after_boot == []
    assert after_sync == ["acks", "sessions"]
    assert while_recording == []
    assert listed == [1, 2]
    assert acked == [True, False]


def test_a_reopen_without_room_for_its_code_fails_softly_and_works_later(tmp_path: Path) -> None:
    # the recovery code is loaded for a reopen after a failed write: with no heap for it the
    # write fails as a flash error would (counted, the session kept), and the next one works
    (locked, errors, later, steps), *_ = mpy(
        tmp_path,
        "import micropython\n"
        "from repcue_fw.journal import record as rec\n"
        "bdev, j = boot()\n"
        "sid = j.begin_session(1, 0, 0)\n"
        "j.append_step(*STEPS[0])\n"
        "j.file.close()\n"
        "j.file = None\n"
        "micropython.heap_lock()\n"
        "try:\n"
        "    locked = rec._reopen(j)\n"
        "finally:\n"
        "    micropython.heap_unlock()\n"
        "errors = j.errors\n"
        "later = rec._reopen(j)\n"
        "j.append_step(*STEPS[1])\n"
        "emit([locked, errors, later, j.steps])\n",
    )
    assert locked is False and errors == 1
    assert later is True and steps == 2
