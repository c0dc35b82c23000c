"""The Dispatcher in the real MicroPython binary, driven in-process with in-memory
services: every request, its errors, replay of duplicates, events, uploads."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from repcue_fw.wire import events as ev
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp
from tests.firmware.test_link_rig import SERVICES_SCRIPT, session_bytes
from tests.mpy import run_mpy

RUNNER = r"""
import json, binascii
from feed import feed

class Bare:
    def info(self):
        return {"name": "bare"}

class Coded(Exception):
    status = 5

RAISE = [None]
def _boom(*args):
    raise RAISE[0]

class Raiser:
    def info(self):
        return {}
    set_time = staticmethod(_boom)
    start = staticmethod(_boom)
    read_session = staticmethod(_boom)

KINDS = {
    "os28": lambda: OSError(28), "os5": lambda: OSError(5), "key": lambda: KeyError(3),
    "value": lambda: ValueError("odd"), "memory": lambda: MemoryError(),
    "coded": lambda: Coded("busy here"),
    "status": lambda: op.StatusError(op.ST_NOT_FOUND, "no session 9", 9),
}

def run(kind, steps):
    svc = Mem(ARGS["sessions"]) if kind == "mem" else (Bare() if kind == "bare" else Raiser())
    disp = Dispatcher(svc, ARGS["max_frame"])
    svc.disp = disp
    out = []
    for step in steps:
        what = step[0]
        if what == "feed":
            res = feed(disp, binascii.unhexlify(step[1]))
            out.append([binascii.hexlify(r).decode() for r in res])
        elif what == "post":
            disp.post_event(step[1], step[2], step[3])
            out.append(None)
        elif what == "events":
            evs = []
            while True:
                e = disp.next_event()
                if e is None:
                    break
                evs.append(binascii.hexlify(bytes(e)).decode())
            out.append(evs)
        elif what == "raise":
            RAISE[0] = KINDS[step[1]]()
            out.append(None)
        elif what == "svc":
            out.append([svc.clock, svc.clock_ms, svc.scheduled, svc.pressed])
        elif what == "state":
            out.append({"leave": disp.leave, "replays": disp.replays, "requests": disp.requests,
                        "dropped": disp.events.dropped, "subscribed": disp.subscribed,
                        "running": getattr(svc, "running", None),
                        "sessions": sorted(getattr(svc, "sessions", {})),
                        "sync_loaded": "repcue_fw.link.sync" in sys.modules})
    return out
"""


def run_dispatcher(steps: list[list[Any]], services: str = "mem", **args: int) -> list[Any]:
    argv = "".join(f"sys.argv.append('{k}={v}')\n" for k, v in args.items())
    code = (
        "import sys\n"
        + argv
        + SERVICES_SCRIPT
        + RUNNER
        + f"print(json.dumps(run({services!r}, json.loads({json.dumps(json.dumps(steps))}))))\n"
    )
    result: list[Any] = json.loads(run_mpy(code))
    return result


def req(
    opcode: int, payload: bytes = b"", seq: int = 1, *, version: int = 1, flags: int = 0
) -> list[Any]:
    return ["feed", wf.encode(opcode, flags, seq, payload, version).hex()]


def decode(hex_responses: list[str]) -> list[wf.Frame]:
    dec = wf.Decoder(4096, detect_break=False)
    out: list[wf.Frame] = []
    for h in hex_responses:
        out += dec.feed(bytes.fromhex(h))
    return out


def status(fr: wf.Frame) -> int:
    return fr.payload[0]


def error(fr: wf.Frame) -> tuple[int, int, str]:
    st, detail, text = op.get_error(fr.payload, 0, len(fr.payload))
    return st, detail, text.decode()


def hello(seq: int = 1, host_max: int = 4096) -> list[Any]:
    return req(op.OP_HELLO, op.hello_req(host_max), seq)


def test_hello_negotiates_the_smaller_frame() -> None:
    res = run_dispatcher([hello(1, 4096), hello(2, 200), hello(3, 100), hello(4, 16385)])
    big, small, tiny, huge = (decode(r)[0] for r in res)
    assert (big.type, big.flags, big.seq) == (op.OP_HELLO, wf.FLAG_RESPONSE, 1)
    info = op.get_info(big.payload, 1, len(big.payload))
    assert info[:3] == (1, 1024, 1024)
    assert info[3] & (op.CAP_EVENTS | op.CAP_REPL | op.CAP_PROGRAM) == 0x13
    assert info[9:] == (bytes.fromhex("deadbeef0001"), b"mem-device", b"unix", b"test-1")
    assert op.get_info(small.payload, 1, len(small.payload))[1] == 200
    # outside MIN_FRAME..16384: the field at payload offset 0 is at fault
    assert error(tiny)[:2] == (op.ST_BAD_REQUEST, 0)
    assert error(huge)[:2] == (op.ST_BAD_REQUEST, 0)


def test_responses_stay_within_the_negotiated_frame() -> None:
    read = op.read_session_req(1, 0, 0xFFFF)
    res = run_dispatcher(
        [
            req(op.OP_READ_SESSION, read, 1),  # before HELLO: MIN_FRAME
            hello(2, 300),
            req(op.OP_READ_SESSION, read, 3),
            hello(4, 4096),
            req(op.OP_READ_SESSION, read, 5),
        ]
    )
    sizes = [len(decode(r)[0].payload) - 1 for r in (res[0], res[2], res[4])]
    assert sizes == [wf.MIN_FRAME - 10, 300 - 10, len(session_bytes(1))]
    assert len(session_bytes(1)) < 1024 - 10


def test_a_duplicate_request_is_answered_from_the_cache() -> None:
    upload = wp.encode(wp.Program([wp.Step(1, 0, 60)]))
    crc = wp.program_id(upload)
    start = req(op.OP_START, b"", 5)
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(upload), crc), 2),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, upload), 3),
            req(op.OP_PROGRAM_COMMIT, op.u32(crc), 4),
            start,
            start,  # the host resent it: its response was lost
            ["feed", wf.encode(4, 0, 9, bytes(3000)).hex()],  # oversize noise in between
            start,
            req(op.OP_START, b"", 6),  # a new request: really runs, and fails
            ["state"],
        ]
    )
    first, again, noise, third, fresh = (decode(r)[0] for r in res[4:9])
    assert status(first) == op.ST_OK
    assert op.get_u32(first.payload, 1, 5) == 13
    assert again == first and third == first
    assert error(noise)[:2] == (op.ST_TOO_BIG, 1024) and noise.seq == 9
    assert error(fresh)[0] == op.ST_BUSY
    assert res[9]["replays"] == 2


@pytest.mark.parametrize(
    ("step", "expect"),
    [
        (req(0x7E, b"", 3), (op.ST_UNKNOWN_OP, 0x7E)),
        (req(op.OP_HELLO, op.hello_req(4096), 3, version=2), (op.ST_VERSION, 1)),
        (req(op.OP_INFO, b"", 3, flags=wf.FLAG_RESPONSE), (op.ST_BAD_REQUEST, 0xFFFFFFFF)),
        (req(op.OP_SET_TIME, b"\x01\x02", 3), (op.ST_BAD_REQUEST, 0)),
        (req(op.OP_INFO, b"\x00", 3), (op.ST_BAD_REQUEST, 0)),
        (req(op.OP_READ_SESSION, bytes(11), 3), (op.ST_BAD_REQUEST, 10)),
        (req(op.OP_ACK_SESSIONS, b"\x02" + bytes(4), 3), (op.ST_BAD_REQUEST, 1)),
        (req(op.OP_SUBSCRIBE, b"\x07", 3), (op.ST_BAD_REQUEST, 0)),
        (req(op.OP_CONFIG_SET, b"\x01\x65\x03\x00", 3), (op.ST_BAD_REQUEST, 1)),
        (req(op.OP_READ_SESSION, op.read_session_req(99, 0, 10), 3), (op.ST_NOT_FOUND, 99)),
        (req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, b"x"), 3), (op.ST_BAD_STATE, 0)),
        (req(op.OP_START, b"", 3), (op.ST_BAD_STATE, 0)),
    ],
    ids=lambda x: x[1][:12] if isinstance(x, list) else str(x),
)
def test_bad_requests_get_errors(step: list[Any], expect: tuple[int, int]) -> None:
    res = run_dispatcher([hello(1), step, hello(4)])
    (fr,) = decode(res[1])
    st, detail, text = error(fr)
    assert (st, detail) == expect
    assert text  # says what was wrong
    assert fr.seq == 3
    assert status(decode(res[2])[0]) == op.ST_OK  # and it still serves


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("os28", op.ST_STORAGE_FULL),
        ("os5", op.ST_STORAGE),
        ("key", op.ST_NOT_FOUND),
        ("value", op.ST_INTERNAL),
        ("memory", op.ST_NO_MEMORY),
        ("coded", op.ST_BUSY),
        ("status", op.ST_NOT_FOUND),
    ],
)
def test_service_exceptions_become_statuses(kind: str, expect: int) -> None:
    res = run_dispatcher(
        [hello(1), ["raise", kind], req(op.OP_SET_TIME, op.u32(5), 2)], services="raiser"
    )
    assert error(decode(res[2])[0])[0] == expect


def test_missing_services_are_unsupported() -> None:
    res = run_dispatcher([hello(1), req(op.OP_CONFIG_GET, b"", 2), req(op.OP_STOP, b"", 3)], "bare")
    assert [error(decode(r)[0])[0] for r in res[1:]] == [op.ST_UNSUPPORTED] * 2


def test_upload_resumes_checks_and_installs() -> None:
    prog = wp.encode(wp.Program([wp.Repeat(8, [wp.Step(1, 1, 400), wp.Step(2, 0, 60)])]))
    crc = wp.program_id(prog)
    junk = b"\x01" + bytes(20)
    junk += zlib.crc32(junk).to_bytes(4, "little")  # right CRC trailer, not a program
    jcrc = wp.program_id(junk)
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(prog), crc), 2),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, prog[:6]), 3),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(9, prog[9:]), 4),  # a gap
            req(op.OP_PROGRAM_COMMIT, op.u32(crc), 5),  # not all there
            hello(6),  # a new host session
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(prog), crc), 7),  # resumes
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(4, prog[4:]), 8),  # overlaps
            req(op.OP_PROGRAM_COMMIT, op.u32(crc ^ 1), 9),
            req(op.OP_PROGRAM_COMMIT, op.u32(crc), 10),
            req(op.OP_PROGRAM_COMMIT, op.u32(crc), 11),  # again, new seq: same answer
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(junk), jcrc), 12),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, junk), 13),
            req(op.OP_PROGRAM_COMMIT, op.u32(jcrc), 14),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(5000, 1), 15),
            req(op.OP_INFO, b"", 16),
        ]
    )
    frames = [decode(r)[0] for r in res]
    assert op.get_u32(frames[1].payload, 1, 5) == 0
    assert op.get_u32(frames[2].payload, 1, 5) == 6
    assert error(frames[3])[:2] == (op.ST_BAD_OFFSET, 6)
    assert error(frames[4])[:2] == (op.ST_BAD_STATE, 6)
    assert op.get_u32(frames[6].payload, 1, 5) == 6
    assert op.get_u32(frames[7].payload, 1, 5) == len(prog)
    assert error(frames[8])[:2] == (op.ST_CRC, 0)
    assert op.get_u32(frames[9].payload, 1, 5) == wp.program_id(prog)
    assert op.get_u32(frames[10].payload, 1, 5) == wp.program_id(prog)
    assert error(frames[13])[0] == op.ST_BAD_PROGRAM
    assert error(frames[14])[:2] == (op.ST_BAD_REQUEST, 0)
    info = op.get_info(frames[15].payload, 1, len(frames[15].payload))
    assert info[7] == wp.program_id(prog)  # the bad program did not replace it


def test_sessions_list_in_pages_read_and_ack() -> None:
    res = run_dispatcher(
        [
            hello(1, 160),  # pages of (160 - 12) / 9 = 16
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 255), 2),
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(16, 255), 3),
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 3), 4),
            req(op.OP_READ_SESSION, op.read_session_req(4, 10_000, 100), 5),
            req(op.OP_ACK_SESSIONS, op.ack_sessions_req([2, 3, 77]), 6),
            ["state"],
        ],
        sessions=20,
    )
    page1, more1 = op.get_sessions(decode(res[1])[0].payload, 1, 10_000)
    page2, more2 = op.get_sessions(decode(res[2])[0].payload, 1, 10_000)
    page3, more3 = op.get_sessions(decode(res[3])[0].payload, 1, 10_000)
    assert [e[0] for e in page1] == list(range(1, 17)) and more1
    assert [e[0] for e in page2] == [17, 18, 19, 20] and not more2
    assert [e[0] for e in page3] == [1, 2, 3] and more3
    assert page1[4] == (5, len(session_bytes(5)), True)
    assert decode(res[4])[0].payload == b"\x00"  # past the end: no bytes
    assert res[6]["sessions"] == [1, *range(4, 21)]


def test_the_sync_code_loads_with_a_listing_and_is_dropped_when_a_session_begins() -> None:
    res = run_dispatcher(
        [
            hello(1),
            ["state"],
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 5), 2),
            ["state"],
            ["post", ev.EV_SESSION_START, 0, 0],
            ["state"],
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(3, 5), 3),
        ],
        sessions=6,
    )
    assert [res[1]["sync_loaded"], res[3]["sync_loaded"], res[5]["sync_loaded"]] == [
        False,
        True,
        False,
    ]
    first, _ = op.get_sessions(decode(res[2])[0].payload, 1, 10_000)
    again, _ = op.get_sessions(decode(res[6])[0].payload, 1, 10_000)
    assert [e[0] for e in first] == [1, 2, 3, 4, 5]
    assert [e[0] for e in again] == [4, 5, 6]  # loaded again, served as before


def test_config_get_and_partial_set() -> None:
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_CONFIG_GET, b"", 2),
            req(op.OP_CONFIG_SET, op.config_set_req(op.CFG_COUNTDOWN, 50, 9, [4]), 3),
        ]
    )
    cfg = [decode(r)[0].payload for r in res[1:]]
    assert op.get_config(cfg[0], 1, len(cfg[0])) == {
        "cue_strength": 80,
        "countdown_s": 3,
        "buttons": b"\x01\x02\x05",
    }
    assert op.get_config(cfg[1], 1, len(cfg[1]))["countdown_s"] == 9
    assert op.get_config(cfg[1], 1, len(cfg[1]))["cue_strength"] == 80  # not in the mask


def test_events_only_while_subscribed_and_gaps_show() -> None:
    steps: list[list[Any]] = [
        hello(1),
        ["post", 1, 2, 3],  # nobody subscribed: dropped silently
        req(op.OP_SUBSCRIBE, op.subscribe_req(True), 2),
        ["post", 1, -7, 1 << 31],
        ["events"],
    ]
    steps += [["post", 5, i, 0] for i in range(20)]  # more than the ring holds
    steps += [["events"], ["state"], hello(3), ["post", 9, 9, 9], ["events"]]
    res = run_dispatcher(steps)
    (first,) = decode(res[4])
    assert (first.type, first.flags, first.seq) == (op.OP_EVENT, wf.FLAG_EVENT, 1)
    assert op.get_event(first.payload, 0, 9) == (1, -7, -(1 << 31))
    burst = decode(res[25])
    assert len(burst) == 16
    assert [f.seq for f in burst] == list(range(2, 18))
    assert res[26]["dropped"] == 4
    assert res[-1] == []  # HELLO ended the subscription


def test_repl_request_and_break_in_leave_protocol_mode() -> None:
    res = run_dispatcher([hello(1), ["state"], req(op.OP_REPL, b"", 2), ["state"]])
    assert status(decode(res[2])[0]) == op.ST_OK
    assert (res[1]["leave"], res[3]["leave"]) == (0, 1)
    res = run_dispatcher([hello(1), ["feed", b"\r\x03".hex()], ["state"]])
    assert res[1] == [] and res[2]["leave"] == 2


def test_ten_thousand_random_frames_leave_it_serving_with_bounded_heap() -> None:
    code = (
        SERVICES_SCRIPT
        + r"""
import gc, binascii, struct
from feed import feed
from repcue_fw.wire.host import frame as wf
svc = Mem(ARGS["sessions"])
disp = Dispatcher(svc)
svc.disp = disp
seed = [777]
def rnd(n):
    seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return seed[0] % n
OPS = [1, 2, 3, 4, 16, 17, 18, 32, 33, 48, 49, 50, 64, 80, 81, 0x41, 0x7F, 0]
def one(i):
    kind = rnd(4)
    if kind == 0:  # garbage bytes, break-in pairs left out
        raw = bytearray(rnd(255) + 1 for _ in range(rnd(60)))
        if len(raw) > 1 and raw[1] == 3:
            raw[1] = 4
        return bytes(raw) + b"\x00"
    payload = bytes(rnd(256) for _ in range(rnd(40)))
    w = bytearray(wf.encode(OPS[rnd(len(OPS))], rnd(4) if rnd(8) == 0 else 0, i & 0xFFFF, payload))
    if kind == 1:  # mutated
        for _ in range(1 + rnd(3)):
            w[rnd(len(w) - 1)] = rnd(256)
    if kind == 2 and rnd(10) == 0:  # oversize
        w = bytearray(wf.encode(4, 0, i & 0xFFFF, bytes(1100)))
    return bytes(w)
hello = wf.encode(1, 0, 1, struct.pack("<H", 4096))
feed(disp, hello)
for i in range(300):  # warm up: the first round of every path allocates its caches
    feed(disp, one(i))
disp.leave = 0
gc.collect()
before = gc.mem_free()
answered = 0
for i in range(10000):
    answered += len(feed(disp, one(i)))
    disp.leave = 0
gc.collect()
after = gc.mem_free()
res = feed(disp, hello)
dec = wf.Decoder(1024)
fr = dec.feed(res[0])[0]
print(before, after, answered, fr.payload[0], disp.requests, disp.errors)
"""
    )
    before, after, answered, hello_status, requests, errors = map(
        int, run_mpy(code, heap_kb=256).split()
    )
    assert hello_status == op.ST_OK
    assert answered > 3000 and requests > 2000 and errors > 1000
    assert before - after < 4096, (before, after)


def test_read_sessions_packs_sessions_into_frames() -> None:
    sizes = {sid: len(session_bytes(sid, 100, 7)) for sid in range(1, 11)}
    res = run_dispatcher(
        [
            hello(1, 400),  # room: 400 - 4 - 6 - 1 = 389 bytes of segments
            req(op.OP_READ_SESSIONS, op.read_sessions_req(0, 0, 0xFFFF), 2),
            req(op.OP_ACK_SESSIONS, op.ack_sessions_req([4]), 3),
            req(op.OP_READ_SESSIONS, op.read_sessions_req(4, 50, 0xFFFF), 4),  # acked: next
            req(op.OP_READ_SESSIONS, op.read_sessions_req(9, 30, 0xFFFF), 5),  # mid-session
            req(op.OP_READ_SESSIONS, op.read_sessions_req(11, 0, 0xFFFF), 6),  # past the end
            req(op.OP_READ_SESSIONS, op.read_sessions_req(1, 0, 40), 7),  # a small max
        ],
        sessions=10,
        base=100,
        spread=7,
    )
    bodies = [decode(r)[0].payload for r in res[1:]]
    more, segs = op.get_segments(bodies[0], 1, len(bodies[0]))
    assert more and len(bodies[0]) - 1 <= 400 - 4 - 6
    assert [(s[0], s[1], s[3]) for s in segs] == [(sid, sizes[sid], 0) for sid in (1, 2, 3, 4)]
    assert segs[0][4] == session_bytes(1, 100, 7) and segs[0][2] == op.FLAG_COMPLETE
    assert [len(s[4]) for s in segs[:3]] == [sizes[1], sizes[2], sizes[3]]
    assert 0 < len(segs[3][4]) < sizes[4]  # the frame filled up inside session 4
    more, segs = op.get_segments(bodies[2], 1, len(bodies[2]))
    assert (segs[0][0], segs[0][3]) == (5, 0)
    more, segs = op.get_segments(bodies[3], 1, len(bodies[3]))
    assert not more and [(s[0], s[3]) for s in segs] == [(9, 30), (10, 0)]
    assert segs[0][4] == session_bytes(9, 100, 7)[30:]
    assert op.get_segments(bodies[4], 1, len(bodies[4])) == (False, [])
    more, segs = op.get_segments(bodies[5], 1, len(bodies[5]))
    assert more and [(s[0], len(s[4])) for s in segs] == [(1, 40 - op.SEGMENT_HEADER_LEN)]


def test_a_full_frame_is_replayed_byte_for_byte() -> None:
    # The dispatcher keeps the last response unencoded and COBS-encodes it into the
    # decoder's buffer again for a retransmission: a full 1024-byte frame, whose encoding
    # is the longest, must come back identical, also after noise filled that buffer.
    read = req(op.OP_READ_SESSIONS, op.read_sessions_req(0, 0, 0xFFFF), 2)
    res = run_dispatcher(
        [
            hello(1),
            read,
            ["feed", wf.encode(4, 0, 9, bytes(3000)).hex()],  # oversize noise in between
            read,  # resent: its answer was lost
            ["state"],
        ],
        sessions=10,
        base=300,
        spread=7,
    )
    first_hex, again_hex = res[1][0], res[3][0]
    assert again_hex == first_hex
    first = decode(res[1])[0]
    assert len(bytes.fromhex(first_hex)) >= 1024  # a full frame, encoded
    assert len(first.payload) + wf.OVERHEAD == 1024
    assert error(decode(res[2])[0])[0] == op.ST_TOO_BIG
    assert res[4]["replays"] == 1


def test_an_upload_is_named_by_its_program_id_not_its_length() -> None:
    # Two programs of one length: the CRC of a whole program (its trailer included) is the
    # same residue for both, so only the id (the trailer) tells an unfinished A from B.
    a = wp.encode(wp.Program([wp.Repeat(8, [wp.Step(1, 1, 400), wp.Step(2, 0, 60)])]))
    b = wp.encode(wp.Program([wp.Repeat(8, [wp.Step(1, 1, 400), wp.Step(2, 0, 61)])]))
    assert len(a) == len(b) and a != b
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(a), wp.program_id(a)), 2),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, a[:6]), 3),  # then the link drops
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(a), wp.program_id(a)), 4),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(b), wp.program_id(b)), 5),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, b), 6),
            req(op.OP_PROGRAM_COMMIT, op.u32(wp.program_id(b)), 7),
        ]
    )
    frames = [decode(r)[0] for r in res]
    assert op.get_u32(frames[3].payload, 1, 5) == 6  # A itself resumes
    assert op.get_u32(frames[4].payload, 1, 5) == 0  # B starts over
    assert op.get_u32(frames[6].payload, 1, 5) == wp.program_id(b)


def test_read_sessions_refuses_a_max_that_holds_no_segment() -> None:
    # more=1 with no segment would send a client following the continuation rule round
    # forever: a max below a segment header and one byte is refused, naming the field
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_READ_SESSIONS, op.read_sessions_req(1, 0, 10), 2),
            req(op.OP_READ_SESSIONS, op.read_sessions_req(1, 0, op.SEGMENT_HEADER_LEN), 3),
            req(op.OP_READ_SESSIONS, op.read_sessions_req(1, 0, op.SEGMENT_HEADER_LEN + 1), 4),
        ]
    )
    assert error(decode(res[1])[0])[:2] == (op.ST_BAD_REQUEST, 8)
    assert error(decode(res[2])[0])[:2] == (op.ST_BAD_REQUEST, 8)
    more, segs = op.get_segments(*(lambda p: (p, 1, len(p)))(decode(res[3])[0].payload))
    assert more and [(sg[0], len(sg[4])) for sg in segs] == [(1, 1)]


def test_unknown_or_malformed_requests_keep_the_replay_cache() -> None:
    set_time = req(op.OP_SET_TIME, op.u32(1_700_000_000), 2)
    res = run_dispatcher(
        [
            hello(1),
            set_time,
            req(0x7E, b"", 3),  # unknown
            req(op.OP_SET_TIME, b"\x01", 4),  # malformed
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 1)[:4] + b"\x00", 5),  # max 0
            req(op.OP_ECHO, bytes(1024 - 9), 6),  # its answer would not fit
            set_time,  # the host resends seq 2: its answer was lost
            ["state"],
        ]
    )
    first, again = decode(res[1])[0], decode(res[6])[0]
    refused = [error(decode(r)[0])[0] for r in res[2:6]]
    assert refused == [op.ST_UNKNOWN_OP, op.ST_BAD_REQUEST, op.ST_BAD_REQUEST, op.ST_TOO_BIG]
    assert again == first  # the cached answer: previous clock 0, not the re-run's 1700000000
    assert res[7]["replays"] == 1


def test_status_details_follow_the_table() -> None:
    res = run_dispatcher(
        [
            req(op.OP_ECHO, bytes(152), 1),  # before HELLO the limit is MIN_FRAME
            hello(2, 300),
            req(op.OP_ECHO, bytes(300 - 9), 3),  # fits as a request, its answer does not
            req(op.OP_ECHO, bytes(300 - 10), 4),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, bytes(300)), 5),  # above 300
            req(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 1)[:4] + b"\x00", 6),
            req(op.OP_READ_SESSION, op.read_session_req(99, 0, 10), 7),
            req(op.OP_READ_SESSION, op.read_session_req(1, 0, 1)[:8] + b"\x00\x00", 8),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(4, 0), 9),
            req(op.OP_PROGRAM_BEGIN, op.program_begin_req(40, 1), 10),
            req(op.OP_PROGRAM_CHUNK, op.program_chunk_req(0, bytes(50)), 11),
        ]
    )
    frames = [decode(r)[0] for r in res]
    assert error(frames[0])[:2] == (op.ST_TOO_BIG, wf.MIN_FRAME)
    assert error(frames[2])[:2] == (op.ST_TOO_BIG, 300)
    assert status(frames[3]) == op.ST_OK and len(frames[3].payload) == 300 - 9
    assert error(frames[4])[:2] == (op.ST_TOO_BIG, 300)
    assert error(frames[5])[:2] == (op.ST_BAD_REQUEST, 4)
    assert error(frames[6])[:2] == (op.ST_NOT_FOUND, 99)
    assert error(frames[7])[:2] == (op.ST_BAD_REQUEST, 8)
    assert error(frames[8])[:2] == (op.ST_BAD_REQUEST, 0)
    assert error(frames[10])[:2] == (op.ST_BAD_REQUEST, 4)  # the data runs past the length


def test_clock_ms_a_start_at_an_instant_and_presses_reach_the_services() -> None:
    at = op.instant_req(1_700_000_003_100)
    res = run_dispatcher(
        [
            hello(1),
            req(op.OP_SET_TIME, op.instant_req(1_700_000_000_250), 2),
            req(op.OP_SET_TIME, op.u32(1_700_000_001), 3),  # the old form: ms 0
            req(op.OP_START, at, 4),
            req(op.OP_PRESS, op.press_req(ev.BTN_LAP), 5),
            ["svc"],
            # malformed: the detail is the offending field's payload offset
            req(op.OP_SET_TIME, at[:5], 6),  # ms cut short
            req(op.OP_SET_TIME, at[:4] + (1000).to_bytes(2, "little"), 7),  # ms above 999
            req(op.OP_START, at[:4], 8),  # the instant needs its ms
            req(op.OP_START, at + b"\x00", 9),  # a byte too many
            req(op.OP_PRESS, bytes([ev.BTN_START]), 10),  # START has its own request
            req(op.OP_PRESS, bytes([ev.BTN_STOP]), 11),
            req(op.OP_PRESS, b"", 12),
            req(op.OP_PRESS, b"\x03\x00", 13),
            ["svc"],
        ]
    )
    set_ms, set_s, start, press = (decode(r)[0] for r in res[1:5])
    assert set_ms.payload == b"\x00" + (0).to_bytes(4, "little")  # the clock was unset
    assert set_s.payload == b"\x00" + (1_700_000_000).to_bytes(4, "little")
    assert start.payload == b"\x00" + bytes(4)  # scheduled: session id 0
    assert press.payload == b"\x00\x00"  # nothing runs: the press did nothing
    assert res[5] == [1_700_000_001, 0, [1_700_000_003, 100], [ev.BTN_LAP]]
    errors = [error(decode(r)[0])[:2] for r in res[6:14]]
    assert {status for status, _ in errors} == {op.ST_BAD_REQUEST}
    assert [detail for _, detail in errors] == [4, 4, 4, 6, 0, 0, 0, 1]
    assert res[14] == res[5]  # nothing malformed reached the services
