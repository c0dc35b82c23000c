"""docs/protocol.md against the device: a client built from the document's tables alone.

The tables are parsed out of the markdown (statuses and their detail rules, opcodes and
request layouts, field ranges, capabilities, session flags, events, cues, buttons, target
types, pace names, effort codes). Every code table must list exactly the firmware's
constants, and the virtual device (the firmware in the micropython unix port, behind a
real pty opened by pyserial) must answer as the tables say. A row added to a table, or a
constant added to the firmware without its row, fails here. Only the frame layer (COBS,
CRC, checked byte for byte by test_frame_vectors against the document's vectors) comes
from the wire package; every payload is built with struct from the document's layouts.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import serial

from repcue.sim import VirtualDevice
from repcue.sim.autopilot import run_to_finish
from repcue_fw.wire import events as fw_events
from repcue_fw.wire import opcodes as fw_op
from repcue_fw.wire import program as fw_program
from repcue_fw.wire.host import events as host_events
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as host_op
from repcue_fw.wire.host import program as host_program
from tests.e2e.conftest import StartDevice

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()

# ---- the document's tables -------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [c.strip().strip("`").strip() for c in line.strip().strip("|").split("|")]


def _tables(text: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            yield _cells(block[0]), [_cells(row) for row in block[2:]]
        block = []


def table(first_header: str) -> list[dict[str, str]]:
    """The one table whose first header cell is first_header, as dicts by header."""
    found = [(h, rows) for h, rows in _tables(DOC) if h[0] == first_header]
    assert len(found) == 1, f"{len(found)} tables start with {first_header!r}"
    header, rows = found[0]
    return [dict(zip(header, row, strict=True)) for row in rows]


def number(text: str) -> int:
    return int(text, 0)


def doc_range(text: str) -> tuple[int, int]:
    low, high = (number(part) for part in text.split(".."))
    return low, high


def doc_figure(pattern: str) -> int:
    match = re.search(pattern, DOC.replace("\n", " "))
    assert match, f"protocol.md does not say {pattern!r}"
    return int(match.group(1))


STATUSES = {row["name"]: (number(row["code"]), row["detail"]) for row in table("code")}
OPCODES = {row["name"]: row for row in table("op")}
LIMITS = table("limit")
MIN_FRAME = doc_figure(r"`MIN_FRAME` = (\d+) bytes")
DEVICE_MAX = doc_figure(r"default maximum is (\d+) \(`DEFAULT_MAX_FRAME`\)")
MAX_ANNOUNCED = doc_figure(r"no side may announce more than (\d+)")


def constants(module: object, prefix: str) -> dict[str, int]:
    """The module's codes named prefix + NAME (private `_PREFIX` ones too) -> {NAME: code}."""
    out = {}
    for attr, value in vars(module).items():
        name = attr.lstrip("_")
        if name.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool):
            out[name[len(prefix) :]] = value
    return out


def by_code(rows: list[dict[str, str]], code: str, name: str) -> dict[str, int]:
    return {row[name].upper().replace(" ", "_"): number(row[code]) for row in rows}


# ---- the code tables are the firmware's codes ----------------------------------------


def test_every_code_table_lists_exactly_the_firmware_codes() -> None:
    assert {n[3:]: c for n, (c, _) in STATUSES.items()} == constants(fw_op, "ST_")
    assert {n: number(row["op"]) for n, row in OPCODES.items()} == constants(fw_op, "OP_")
    assert by_code(table("capability"), "capability", "name") == constants(fw_op, "CAP_")
    events = by_code(table("event"), "event", "name")
    assert events == constants(fw_events, "EV_")
    cues = by_code(table("cue"), "cue", "name")
    assert cues == constants(fw_events, "CUE_")
    names = {c: n.lower() for n, c in cues.items()}
    assert names == dict(enumerate(host_events.CUE_NAMES[1:], 1))  # what hosts show
    buttons = by_code(table("button"), "button", "name")
    assert {n: c for n, c in buttons.items() if c} == constants(fw_events, "BTN_")
    targets = by_code(table("target type"), "target type", "name")
    assert targets == constants(fw_program, "TARGET_")
    paces = {number(r["pace name"]): r["name"] for r in table("pace name")}
    assert paces == dict(enumerate(host_program.PACE_NAMES))
    assert max(paces) == fw_program.MAX_PACE_NAME
    efforts = {number(r["effort"]): r["name"] for r in table("effort")}
    assert efforts == dict(enumerate(host_program.EFFORT_NAMES[1:], 1))
    flags = by_code(table("flag bit"), "flag bit", "name")
    assert flags == {"COMPLETE": host_op.FLAG_COMPLETE, "ACKNOWLEDGED": host_op.FLAG_ACKNOWLEDGED}
    assert (MIN_FRAME, DEVICE_MAX, MAX_ANNOUNCED) == (
        wf.MIN_FRAME,
        wf.DEFAULT_MAX_FRAME,
        wf.MAX_FRAME_LIMIT,
    )


# ---- a client from the document --------------------------------------------------------

_FIELD = re.compile(r"^(u8|u16|u32) (.+)$")
_REPEATED = re.compile(r"^n x (u8|u16|u32) (.+)$")
_SIZES = {"u8": "B", "u16": "H", "u32": "I"}


@dataclass(frozen=True)
class Field:
    name: str
    fmt: str  # struct code
    repeated: bool  # one per count of the preceding field "n"


def layout(op_name: str) -> list[Field]:
    """A request's payload fields from the opcode table's 'request payload' cell."""
    cell = OPCODES[op_name]["request payload"]
    fields: list[Field] = []
    if cell == "-":
        return fields
    for part in cell.split(", "):
        part = re.sub(r" \(.*\)$", "", part)
        if (m := _REPEATED.match(part)) is not None:
            fields.append(Field(m.group(2), _SIZES[m.group(1)], True))
        elif (m := _FIELD.match(part)) is not None:
            fields.append(Field(m.group(2), _SIZES[m.group(1)], False))
        else:
            raise AssertionError(f"{op_name}: cannot read the field {part!r}")
    return fields


def build(op_name: str, values: dict[str, int]) -> tuple[bytes, dict[str, int]]:
    """The payload with the named values (others 0; a repeated field follows its "n") and
    each field's payload offset."""
    out = b""
    offsets: dict[str, int] = {}
    count = 0
    for f in layout(op_name):
        offsets[f.name] = len(out)
        if f.repeated:
            out += struct.pack("<" + f.fmt * count, *([values.get(f.name, 0)] * count))
            continue
        value = values.get(f.name, 0)
        if f.name == "n":
            count = value
        out += struct.pack("<" + f.fmt, value)
    return out, offsets


@dataclass
class Answer:
    status: int
    detail: int
    body: bytes  # after the status (OK) or the message (error)


class DocClient:
    """One request at a time over pyserial, frames from the shared codec, payloads from
    the document."""

    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, timeout=0.05)
        self.decoder = wf.Decoder(MAX_ANNOUNCED)
        self.seq = 0
        self.events: list[tuple[int, int, int]] = []

    def close(self) -> None:
        self.ser.close()

    def send(self, op_name: str, payload: bytes = b"", *, seq: int = 0, version: int = 1) -> Answer:
        opcode = number(OPCODES[op_name]["op"]) if op_name in OPCODES else int(op_name, 0)
        if not seq:
            self.seq += 1
            seq = self.seq
        self.ser.write(wf.encode(opcode, 0, seq, payload, version))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = None  # events read with the answer are kept too
            for fr in self.decoder.feed(self.ser.read(self.ser.in_waiting or 1)):
                if fr.flags & wf.FLAG_EVENT:
                    self.events.append(struct.unpack("<Bii", fr.payload))
                elif fr.seq == seq:
                    answer = self._answer(fr.payload)
            if answer is not None:
                return answer
        raise TimeoutError(f"no answer to {op_name}")

    def call(self, op_name: str, **values: int) -> Answer:
        return self.send(op_name, build(op_name, values)[0])

    @staticmethod
    def _answer(payload: bytes) -> Answer:
        if payload[0] == 0:
            return Answer(0, 0, bytes(payload[1:]))
        detail, n = struct.unpack_from("<IB", payload, 1)
        assert n <= 64 and len(payload) == 6 + n, "error body as the document says"
        return Answer(payload[0], detail, payload[6 : 6 + n])

    def hello(self, host_max: int) -> Answer:
        return self.call("HELLO", **{"host max frame": host_max})

    def upload(self, program: bytes) -> Answer:
        """PROGRAM_BEGIN/CHUNK/COMMIT as the Upload paragraph says: named by the id."""
        pid = zlib.crc32(program[:-4])
        begin = self.call("PROGRAM_BEGIN", **{"total length": len(program), "program id": pid})
        assert begin.status == 0
        assert self.send("PROGRAM_CHUNK", struct.pack("<I", 0) + program).status == 0
        return self.call("PROGRAM_COMMIT", **{"program id": pid})

    def drain_events(self, quiet_s: float = 0.3) -> None:
        end = time.monotonic() + quiet_s
        while time.monotonic() < end:
            for fr in self.decoder.feed(self.ser.read(self.ser.in_waiting or 1)):
                if fr.flags & wf.FLAG_EVENT:
                    self.events.append(struct.unpack("<Bii", fr.payload))
                    end = time.monotonic() + quiet_s


def _program(*steps: tuple[int, int, int]) -> bytes:
    """The program format by hand: version 1, no flag, the steps (kind, end, value) as
    one-byte headers with a one-byte varint value, then the CRC-32 trailer."""
    body = bytes((1, 0, len(steps)))
    for kind, end, value in steps:
        assert value < 0x80
        body += bytes((kind | end << 3, value))
    return body + struct.pack("<I", zlib.crc32(body))


# warm-up 10 s, work 20 s, recovery 10 s, cool-down 5 s (kind, end 0 time, seconds)
PROGRAM = _program((0, 0, 10), (1, 0, 20), (2, 0, 10), (4, 0, 5))


@pytest.fixture
def doc_client(start_device: StartDevice) -> Iterator[tuple[VirtualDevice, DocClient]]:
    device = start_device()
    dev = DocClient(device.pty_path)
    try:
        yield device, dev
    finally:
        dev.close()


# ---- statuses and their details --------------------------------------------------------


@dataclass
class Case:
    answer: Answer
    expect: dict[str, Callable[[int], bool]]  # detail rule -> check


def _is(value: int) -> dict[str, Callable[[int], bool]]:
    return {"": lambda d: d == value}


NOT_REACHABLE_OVER_SERIAL = {
    "ST_OK",  # not an error
    "ST_STORAGE_FULL",  # a full flash
    "ST_STORAGE",  # a failing flash
    "ST_NO_MEMORY",  # a heap that runs out
    "ST_AUTH",  # BLE only (tests/ble)
    "ST_UNSUPPORTED",  # BLE only: PAIR, UNPAIR, REPL over the air (tests/ble)
    "ST_INTERNAL",  # a firmware bug
}


def test_every_status_answers_with_the_documented_detail(
    doc_client: tuple[VirtualDevice, DocClient],
) -> None:
    _, dev = doc_client
    assert dev.hello(MAX_ANNOUNCED).status == 0
    limit = min(MAX_ANNOUNCED, DEVICE_MAX)
    got: dict[str, tuple[Answer, int | None]] = {}  # status name -> answer, expected detail

    got["ST_NOT_RUNNING"] = (dev.call("STOP"), None)
    got["ST_UNKNOWN_OP"] = (dev.send("0x7e"), 0x7E)
    set_time = build("SET_TIME", {})[0]
    got["ST_BAD_REQUEST"] = (dev.send("SET_TIME", set_time + b"\x00"), len(set_time))
    got["ST_VERSION"] = (dev.send("INFO", version=2), 1)
    got["ST_TOO_BIG"] = (dev.send("ECHO", bytes(limit - 9)), limit)
    got["ST_NOT_FOUND"] = (dev.call("READ_SESSION", **{"session id": 999, "max bytes": 10}), 999)
    pid = zlib.crc32(PROGRAM[:-4])
    begin = {"total length": len(PROGRAM), "program id": pid}
    assert dev.call("PROGRAM_BEGIN", **begin).status == 0
    assert dev.send("PROGRAM_CHUNK", struct.pack("<I", 0) + PROGRAM[:5]).status == 0
    got["ST_BAD_OFFSET"] = (dev.send("PROGRAM_CHUNK", struct.pack("<I", 7) + b"\x00"), 5)
    got["ST_BAD_STATE"] = (dev.call("PROGRAM_COMMIT", **{"program id": pid}), 5)
    assert dev.send("PROGRAM_CHUNK", struct.pack("<I", 5) + PROGRAM[5:]).status == 0
    got["ST_CRC"] = (dev.call("PROGRAM_COMMIT", **{"program id": pid ^ 1}), None)
    junk = b"\x01\x00\x01\x07\x00"  # one node of kind 7 (a repeat) cut short
    junk += struct.pack("<I", zlib.crc32(junk))
    jid = zlib.crc32(junk[:-4])
    assert dev.call("PROGRAM_BEGIN", **{"total length": len(junk), "program id": jid}).status == 0
    assert dev.send("PROGRAM_CHUNK", struct.pack("<I", 0) + junk).status == 0
    got["ST_BAD_PROGRAM"] = (dev.call("PROGRAM_COMMIT", **{"program id": jid}), None)
    assert dev.upload(PROGRAM).status == 0
    assert dev.send("START").status == 0  # no payload: now
    got["ST_BUSY"] = (dev.send("START"), None)
    assert dev.call("STOP").status == 0

    rules: dict[str, Callable[[Answer, int | None], bool]] = {
        "the opcode": lambda a, e: a.detail == e,
        "offset in the payload": lambda a, e: a.detail == e,
        "the limit in force": lambda a, e: a.detail == e,
        "the device's version": lambda a, e: a.detail == e,
        "bytes held, or 0": lambda a, e: a.detail == e,
        "the expected offset": lambda a, e: a.detail == e,
        "the id": lambda a, e: a.detail == e,
        "byte offset": lambda a, e: 0 <= a.detail < len(junk),
        "0": lambda a, e: a.detail == 0,
    }
    assert set(got) | NOT_REACHABLE_OVER_SERIAL == set(STATUSES), "a status without a case"
    for name, (answer, expected) in got.items():
        code, rule = STATUSES[name]
        assert answer.status == code, (name, answer)
        assert rule in rules, f"{name}: no check for the detail rule {rule!r}"
        assert rules[rule](answer, expected), (name, rule, answer.detail, expected)
        assert answer.body and answer.body.isascii(), "a message saying what and where"


# ---- frame sizes -----------------------------------------------------------------------


def test_frame_limits_bind_both_directions(doc_client: tuple[VirtualDevice, DocClient]) -> None:
    _, dev = doc_client
    too_big = STATUSES["ST_TOO_BIG"][0]
    # before a HELLO the limit is MIN_FRAME: requests and answers
    assert dev.send("ECHO", bytes(MIN_FRAME - 10)).status == 0
    for n in (MIN_FRAME - 9, MIN_FRAME):  # an answer that would not fit, a request too big
        answer = dev.send("ECHO", bytes(n))
        assert (answer.status, answer.detail) == (too_big, MIN_FRAME), n
    info = dev.hello(MAX_ANNOUNCED)
    max_frame, device_max = struct.unpack_from("<HH", info.body, 1)
    assert (max_frame, device_max) == (DEVICE_MAX, DEVICE_MAX)
    assert dev.hello(300).status == 0
    for n, status in ((300 - 10, 0), (300 - 9, too_big), (300, too_big), (800, too_big)):
        answer = dev.send("ECHO", bytes(n))
        assert answer.status == status, n
        if status:
            assert answer.detail == 300
    assert dev.send("PROGRAM_CHUNK", bytes(300)).status == too_big  # any request above L


# ---- field ranges ----------------------------------------------------------------------


def test_every_field_range_is_enforced_at_its_offset(
    doc_client: tuple[VirtualDevice, DocClient],
) -> None:
    _, dev = doc_client
    bad_request = STATUSES["ST_BAD_REQUEST"][0]
    assert dev.hello(MAX_ANNOUNCED).status == 0
    limit = min(MAX_ANNOUNCED, DEVICE_MAX)
    checked = 0
    for row in LIMITS:
        op_name, field = row["request"], row["field"]
        low, high = doc_range(row["range"])
        fmt = next(f.fmt for f in layout(op_name) if f.name == field)
        width_max = (1 << (8 * struct.calcsize(fmt))) - 1
        for value, ok in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
            if value < 0 or value > width_max:
                continue  # the field cannot carry it
            values = {field: value}
            if any(f.repeated and f.name == field for f in layout(op_name)):
                values["n"] = 1  # an element of a list: one of them
            payload, offsets = build(op_name, values)
            if len(payload) + 9 > limit:
                continue  # the frame would not fit: ST_TOO_BIG, not this rule
            answer = dev.send(op_name, payload)
            where = f"{op_name} {field}={value}"
            if ok:  # not refused for this field (another rule may still say no)
                assert (answer.status, answer.detail) != (bad_request, offsets[field]), where
            else:
                assert (answer.status, answer.detail) == (bad_request, offsets[field]), where
                checked += 1
            if op_name == "HELLO":
                assert dev.hello(MAX_ANNOUNCED).status == 0  # back to the full limit
    assert checked >= len(LIMITS)


# ---- sessions, flags, events, cues, replay ---------------------------------------------


def test_a_session_as_the_document_describes_it(
    doc_client: tuple[VirtualDevice, DocClient],
) -> None:
    device, dev = doc_client
    assert dev.hello(MAX_ANNOUNCED).status == 0
    assert dev.upload(PROGRAM).status == 0
    assert dev.call("SUBSCRIBE", on=1).status == 0
    run_to_finish(device, start=True, chunk_ms=3_600_000)
    dev.drain_events()
    events = {number(r["event"]): r["name"] for r in table("event")}
    cues = {number(r["cue"]): r["name"] for r in table("cue")}
    names = [events.get(code, f"unknown {code}") for code, _, _ in dev.events]
    assert names[0] == "session_start" and names[-1] == "finish", names
    assert set(names) <= set(events.values())
    cue_names = [cues.get(a, f"unknown {a}") for code, a, _ in dev.events if events[code] == "cue"]
    assert set(cue_names) <= set(cues.values())
    assert {"work", "recovery", "finish"} <= set(cue_names)
    session_id, planned = dev.events[0][1:]
    assert planned == 4  # "planned step count"
    kinds = [b for code, _, b in dev.events if events[code] == "step_start"]
    assert kinds == [0, 1, 2, 4]  # "step kind"
    finish = dev.events[-1]
    assert finish[1] == 0  # "session end reason": finished

    flag = by_code(table("flag bit"), "flag bit", "name")
    listing = dev.call("LIST_SESSIONS", **{"max entries": 255})
    assert listing.status == 0
    n, more = listing.body[0], listing.body[1]
    entries = [struct.unpack_from("<IIB", listing.body, 2 + 9 * i) for i in range(n)]
    assert not more and [(e[0], e[2]) for e in entries] == [(session_id, flag["COMPLETE"])]
    assert dev.call("ACK_SESSIONS", n=1, **{"session id": session_id}).status == 0
    listing = dev.call("LIST_SESSIONS", **{"max entries": 255})
    assert listing.body[2 + 8] == flag["COMPLETE"] | flag["ACKNOWLEDGED"]
    read = dev.call("READ_SESSIONS", **{"session id": session_id, "max bytes": 16})
    assert read.status == 0 and read.body[0] == 1  # more, and one segment with one byte
    sid, size, flags, offset, got = struct.unpack_from("<IIBIH", read.body, 1)
    assert (sid, flags, offset, got) == (session_id, 3, 0, 1) and size == entries[0][1]

    # the replay cache: a refused request between a request and its retransmission
    first = dev.send("SET_TIME", struct.pack("<I", 1_800_000_000), seq=40000)
    assert first.status == 0
    assert dev.send("0x7e").status == STATUSES["ST_UNKNOWN_OP"][0]
    assert dev.send("SET_TIME", b"\x01", seq=40001).status == STATUSES["ST_BAD_REQUEST"][0]
    assert dev.send("ECHO", bytes(DEVICE_MAX - 9)).status == STATUSES["ST_TOO_BIG"][0]
    again = dev.send("SET_TIME", struct.pack("<I", 1_800_000_000), seq=40000)
    assert again == first  # the first answer (the clock before), not a second run


# ---- a start at an instant, and button presses -----------------------------------------


def test_a_start_at_an_instant_and_presses_as_the_document_says(
    doc_client: tuple[VirtualDevice, DocClient],
) -> None:
    device, dev = doc_client
    ctl = device.require_control()  # the stepped clock: time moves only when told
    st = {name: code for name, (code, _) in STATUSES.items()}
    ev = {r["name"]: number(r["event"]) for r in table("event")}
    btn = {r["name"]: number(r["button"]) for r in table("button")}

    def start_at(unix_s: int, ms: int) -> Answer:
        return dev.call("START", **{"at Unix seconds": unix_s, "at ms": ms})

    def started() -> list[tuple[int, int, int]]:
        dev.drain_events(0.2)
        return [e for e in dev.events if e[0] == ev["session_start"]]

    assert dev.hello(MAX_ANNOUNCED).status == 0
    assert dev.upload(PROGRAM).status == 0
    clock_unset = start_at(1_800_000_010, 100)
    assert (clock_unset.status, clock_unset.detail) == (st["ST_BAD_STATE"], 0)
    assert dev.call("SET_TIME", **{"Unix seconds": 1_800_000_000, "ms": 250}).status == 0
    _, set_ms = ctl.now()  # the device read 1_800_000_000.250 at this virtual ms
    for unix_s, ms in ((1_800_000_000, 250), (1_800_000_000 + 600, 251)):  # past; > 10 min
        refused = start_at(unix_s, ms)
        assert (refused.status, refused.detail) == (st["ST_BAD_REQUEST"], 0), (unix_s, ms)
    assert dev.call("SUBSCRIBE", on=1).status == 0

    # pending, then cancelled by STOP: nothing starts at the instant
    assert start_at(1_800_000_010, 100) == Answer(0, 0, bytes(4))  # session id 0: scheduled
    assert dev.call("STOP").status == 0
    ctl.advance(10_000)
    assert not started()
    assert dev.call("STOP").status == st["ST_NOT_RUNNING"]

    # scheduled again: the session starts on the instant, by the device's own clock
    assert start_at(1_800_000_020, 0).status == 0
    ctl.advance(19_750 - 10_000 - 1)
    assert not started()
    ctl.advance(1)
    assert len(started()) == 1
    assert ctl.events(ev["session_start"])[0].ms == set_ms + 19_750
    assert dev.send("START").status == st["ST_BUSY"]

    # PRESS: as the device's own buttons; 1 = it did something
    press = {name: dev.call("PRESS", button=btn[name]) for name in ("pause",)}
    assert press["pause"] == Answer(0, 0, b"\x01")
    assert dev.call("PRESS", button=btn["pause"]).body == b"\x01"  # resumes
    assert dev.call("PRESS", button=btn["lap"]).body == b"\x01"
    assert dev.call("PRESS", button=btn["skip"]).body == b"\x01"
    for name in ("start", "stop"):  # they have their own requests
        answer = dev.call("PRESS", button=btn[name])
        assert (answer.status, answer.detail) == (st["ST_BAD_REQUEST"], 0), name
    dev.drain_events()
    codes = [code for code, _, _ in dev.events]
    for name in ("pause", "resume", "lap", "step_end"):
        assert ev[name] in codes, name
    skipped = [b for code, _, b in dev.events if code == ev["step_end"]]
    assert skipped == [2]  # step end reason 2: skip
    assert dev.call("STOP").status == 0
    assert dev.call("PRESS", button=btn["lap"]) == Answer(0, 0, b"\x00")  # nothing runs
