"""DeviceClient through SerialTransport (pyserial on a real pty) against the real firmware
link (Dispatcher + link.serial in the micropython binary) with in-memory services."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import tty
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from repcue.errors import (
    DeviceError,
    DisconnectedError,
    NoFirmwareError,
    RepcueTimeoutError,
    VersionMismatchError,
)
from repcue.link import DeviceClient
from repcue.link import client as client_module
from repcue.link.serial import SerialTransport
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp
from tests.firmware.test_link_rig import MpyDevice, session_bytes


@pytest.fixture
def device() -> Iterator[MpyDevice]:
    with MpyDevice() as dev:
        yield dev


@pytest.fixture
async def client(device: MpyDevice) -> AsyncIterator[DeviceClient]:
    async with DeviceClient(SerialTransport(device.serial_path), timeout_s=0.5) as dev:
        yield dev


def hundred_steps() -> bytes:
    steps: list[wp.Step | wp.Repeat] = [wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600)]
    for i in range(98):
        kind = wp.KIND_WORK if i % 2 == 0 else wp.KIND_RECOVERY
        steps.append(wp.Step(kind, wp.END_DISTANCE, 200 + i, wp.TARGET_PACE, 0, 2100 + i))
    steps.append(wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600))
    return wp.encode(wp.Program(steps))


async def test_hello_reports_the_device(client: DeviceClient) -> None:
    info = await client.hello()
    assert info.device_id == "deadbeef0001"
    assert (info.name, info.board, info.firmware_version) == ("mem-device", "unix", "test-1")
    assert info.protocol_version == wf.PROTOCOL_VERSION
    assert info.max_frame == 1024 == client.max_frame
    assert info.has(op.CAP_EVENTS) and info.has(op.CAP_PROGRAM)
    assert info.free_heap > 10_000 and info.free_flash == 123456
    assert await client.set_time(1_700_000_000) == 0
    assert (await client.device_info()).clock_s == 1_700_000_000


async def test_upload_then_sessions_round_trip(client: DeviceClient) -> None:
    program = hundred_steps()
    progress = [sent async for sent in client.upload_program(program)]
    assert progress[0] == 0 and progress[-1] == len(program)
    info = await client.device_info()
    assert info.program_id == wp.program_id(program)

    entries = await client.list_sessions()
    assert [e.session_id for e in entries] == list(range(1, 13))
    for entry in entries:
        assert entry.size_bytes == len(session_bytes(entry.session_id))
        data = b"".join([c async for c in client.read_session(entry.session_id)])
        assert data == session_bytes(entry.session_id)
    await client.ack_sessions([e.session_id for e in entries[:5]])
    assert [e.session_id for e in await client.list_sessions(after_id=3)] == list(range(6, 13))


async def test_read_session_from_an_offset_with_small_frames(device: MpyDevice) -> None:
    async with DeviceClient(SerialTransport(device.serial_path), max_frame=160) as dev:
        info = await dev.hello()
        assert info.max_frame == 160
        full = session_bytes(7)
        chunks = [c async for c in dev.read_session(7, offset=100, size_bytes=len(full))]
        assert all(len(c) <= 150 for c in chunks) and len(chunks) > 2
        assert b"".join(chunks) == full[100:]


async def test_upload_in_small_chunks(device: MpyDevice) -> None:
    program = hundred_steps()
    async with DeviceClient(SerialTransport(device.serial_path), max_frame=160) as dev:
        progress = [sent async for sent in dev.upload_program(program)]
        assert progress == [0, *range(147, len(program), 147), len(program)]
        assert (await dev.device_info()).program_id == wp.program_id(program)


async def test_an_interrupted_upload_is_resumed_by_its_own_program_only(
    device: MpyDevice,
) -> None:
    # A and B have one length; the CRC of a whole program is the same residue for both,
    # so the upload must be named by the program id or B "resumes" A's bytes and fails.
    a = hundred_steps()
    b = _other_program(a)
    assert len(a) == len(b) and a != b

    async def interrupted(dev: DeviceClient, program: bytes) -> int:
        uploading = dev.upload_program(program)
        held = [await anext(uploading), await anext(uploading)]
        await uploading.aclose()  # the link "dropped" after one chunk
        return held[-1]

    async with DeviceClient(SerialTransport(device.serial_path), max_frame=160) as dev:
        held = await interrupted(dev, a)
        assert held == 147
        resumed = [sent async for sent in dev.upload_program(a)]
        assert resumed[0] == held  # A itself resumes
        assert (await dev.device_info()).program_id == wp.program_id(a)

        await interrupted(dev, a)
        progress = [sent async for sent in dev.upload_program(b)]
        assert progress[0] == 0  # not resumed from A's bytes
        assert (await dev.device_info()).program_id == wp.program_id(b)


def _other_program(program: bytes) -> bytes:
    """hundred_steps() with one target value changed: the same length, another id."""
    steps: list[wp.Step | wp.Repeat] = [wp.Step(wp.KIND_WARMUP, wp.END_TIME, 600)]
    for i in range(98):
        kind = wp.KIND_WORK if i % 2 == 0 else wp.KIND_RECOVERY
        steps.append(wp.Step(kind, wp.END_DISTANCE, 200 + i, wp.TARGET_PACE, 0, 2101 + i))
    steps.append(wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 600))
    out = wp.encode(wp.Program(steps))
    assert len(out) == len(program)
    return out


async def test_events_arrive_after_subscribing(client: DeviceClient) -> None:
    async for _ in client.upload_program(wp.encode(wp.Program([wp.Step(1, 0, 60)]))):
        pass
    await client.subscribe_events()
    session_id = await client.start()
    events = client.events()
    got = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(5)]
    assert [(e.code, e.a, e.b) for e in got] == [(10 + i, session_id, -i) for i in range(5)]
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    with pytest.raises(DeviceError) as info:
        await client.start()
    assert info.value.code == op.ST_BUSY and "already running" in str(info.value)
    await client.stop()


async def test_config_round_trip(client: DeviceClient) -> None:
    before = await client.config_get()
    assert before.button_map == (1, 2, 5)
    after = await client.config_set(cue_strength_pct=40, button_map=[3, 0, 5])
    assert (after.cue_strength_pct, after.countdown_s, after.button_map) == (40, 3, (3, 0, 5))


async def test_device_errors_are_typed(client: DeviceClient) -> None:
    with pytest.raises(DeviceError) as info:
        await client.start()
    assert info.value.code == op.ST_BAD_STATE and info.value.exit_code == 6
    with pytest.raises(DeviceError) as info:
        _ = [c async for c in client.read_session(999)]
    assert (info.value.code, info.value.detail) == (op.ST_NOT_FOUND, 999)
    assert "READ_SESSION failed: not found" in str(info.value)


async def test_the_link_dropping_raises_at_once(device: MpyDevice) -> None:
    # a long timeout: only the disconnect can end these waits in time
    async with DeviceClient(SerialTransport(device.serial_path), timeout_s=60) as dev:
        await dev.hello()
        events = dev.events()
        waiting = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.2)
        device.kill()
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(waiting, 10)
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(dev.device_info(), 10)
        assert not dev.connected


async def test_repl_request_leaves_protocol_mode(device: MpyDevice) -> None:
    async with DeviceClient(SerialTransport(device.serial_path), timeout_s=0.5) as dev:
        await dev.hello()
        await dev.enter_repl()
        assert device.wait_exit() == 0  # serve() returned REPL; the script ended
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(dev.hello(), 10)


def test_break_in_bytes_leave_protocol_mode(device: MpyDevice) -> None:
    import serial

    with serial.Serial(device.serial_path, timeout=5) as port:
        port.write(b"\r\x03")
        text = port.read_until(b">>> ")
    assert b"LEFT PROTOCOL MODE 2" in text
    assert device.wait_exit() == 0


class FakeDevice:
    """A pty whose far end answers each decoded frame with respond(frame) -> bytes."""

    def __init__(self, respond: Callable[[wf.Frame], bytes]) -> None:
        self.respond = respond
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        dec = wf.Decoder(4096, detect_break=False)
        while not self._stop:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            for fr in dec.feed(data):
                out = self.respond(fr)
                if out:
                    os.write(self.master, out)

    def close(self) -> None:
        self._stop = True
        os.close(self.slave)
        os.close(self.master)


@pytest.mark.parametrize(
    ("respond", "expected"),
    [
        (lambda fr: b"", RepcueTimeoutError),
        (lambda fr: b"\r\nTraceback...\r\n>>> ", NoFirmwareError),
        (lambda fr: b"\x00" + wf.encode(fr.type, 0, fr.seq, fr.payload) + b">>> ", NoFirmwareError),
        (lambda fr: b"\x00", RepcueTimeoutError),
        (lambda fr: b"\x7f\x45\x12garbage\x00", NoFirmwareError),
        (lambda fr: wf.encode(fr.type, 1, fr.seq, b"\x00", version=2), VersionMismatchError),
        (
            lambda fr: wf.encode(fr.type, 1, fr.seq, bytes([op.ST_VERSION, 2, 0, 0, 0, 0])),
            VersionMismatchError,
        ),
    ],
    ids=["silent", "repl", "repl-echo", "only-delimiters", "noise", "v2-frame", "st-version"],
)
async def test_what_answers_is_told_apart(
    respond: Callable[[wf.Frame], bytes], expected: type[Exception]
) -> None:
    fake = FakeDevice(respond)
    try:
        async with DeviceClient(SerialTransport(fake.path), timeout_s=0.1, retries=1) as dev:
            with pytest.raises(expected) as info:
                await dev.hello()
        assert info.value.exit_code in (5, 8, 9)
        if isinstance(info.value, NoFirmwareError) and b">>>" in info.value.sample:
            assert dev.channel.resends == 0  # a REPL is told at the first timeout
        if expected is VersionMismatchError:
            assert "protocol version 2" in str(info.value)
    finally:
        fake.close()


def hello_body() -> bytes:
    buf = bytearray(200)
    end = op.put_info(buf, 1, 1, 1024, 1024, {"name": "fake"})
    return bytes(buf[:end])


async def test_resends_after_a_lost_request_and_drops_stale_answers() -> None:
    seen: list[int] = []

    def respond(fr: wf.Frame) -> bytes:
        if fr.type == op.OP_HELLO:
            return wf.encode(fr.type, 1, fr.seq, hello_body())
        seen.append(fr.seq)
        if len(seen) == 1:
            return b""  # lose the first: the client must resend the same seq
        stale = wf.encode(fr.type, 1, (fr.seq - 1) & 0xFFFF, b"\x00")
        return stale + wf.encode(fr.type, 1, fr.seq, b"\x00\x05\x00\x00\x00")

    fake = FakeDevice(respond)
    try:
        async with DeviceClient(SerialTransport(fake.path), timeout_s=0.2) as dev:
            assert await dev.set_time(1) == 5
            assert seen == [2, 2]
            assert dev.channel.resends == 1 and dev.channel.stale_responses == 1
    finally:
        fake.close()


class HoldFirst:
    """A fake device that keeps its answer to the first request after HELLO until another
    frame arrives: a client that overlaps requests gets both answers at once; one that
    does not must time out and resend before its next request can go."""

    def __init__(self) -> None:
        self.seqs: list[int] = []  # request seqs in the order they arrived
        self.held = b""

    def __call__(self, fr: wf.Frame) -> bytes:
        if fr.type == op.OP_HELLO:
            return wf.encode(fr.type, 1, fr.seq, hello_body())
        self.seqs.append(fr.seq)
        body = {op.OP_READ_SESSION: b"\x00abc", op.OP_SET_TIME: b"\x00\x00\x00\x00\x00"}
        answer = wf.encode(fr.type, 1, fr.seq, body.get(fr.type, b"\x00"))
        if len(self.seqs) == 1:
            self.held = answer
            return b""
        out, self.held = self.held + answer, b""
        return out


class OneAtATime(SerialTransport):
    pipeline_depth = 1  # as over BLE


@pytest.mark.parametrize(
    ("transport", "second_pipelined", "overlap"),
    [(SerialTransport, True, True), (SerialTransport, False, False), (OneAtATime, True, False)],
    ids=["read+ack-overlap", "plain-request-waits", "depth-1-transport"],
)
async def test_only_pipelined_requests_overlap_where_the_transport_allows(
    transport: type[SerialTransport], second_pipelined: bool, overlap: bool
) -> None:
    device = HoldFirst()
    fake = FakeDevice(device)
    try:
        async with DeviceClient(transport(fake.path), timeout_s=0.3) as dev:
            await dev.hello()
            read = anext(dev.read_session(4, size_bytes=3))
            second = dev.ack_sessions([4]) if second_pipelined else dev.set_time(5)
            data, _ = await asyncio.gather(read, second)
        assert data == b"abc"
        # which of the two requests reaches the device first is up to the event loop (each
        # is its own task); what the channel guarantees is whether they overlap
        if overlap:  # both out before the first answer: nothing timed out
            assert len(device.seqs) == 2 and device.seqs[0] != device.seqs[1]
            assert dev.channel.resends == 0 and dev.channel.most_in_flight == 2
        else:  # the second went only after the first was resent and answered
            first, resent, second = device.seqs
            assert resent == first and second != first
            assert dev.channel.resends == 1 and dev.channel.most_in_flight == 1
    finally:
        fake.close()


@pytest.mark.parametrize("max_frame", [160, 500, 4096])
async def test_read_sessions_yields_whole_sessions(device: MpyDevice, max_frame: int) -> None:
    async with DeviceClient(SerialTransport(device.serial_path), max_frame=max_frame) as dev:
        got = [(entry, data) async for entry, data in dev.read_sessions(after_id=2)]
    assert [e.session_id for e, _ in got] == list(range(3, 13))
    for entry, data in got:
        assert data == session_bytes(entry.session_id)
        assert entry.size_bytes == len(data) and entry.complete


def test_an_idle_line_drops_a_partial_frame(device: MpyDevice) -> None:
    import time

    import serial

    hello = wf.encode(op.OP_HELLO, 0, 1, op.hello_req(4096))
    with serial.Serial(device.serial_path, timeout=1) as port:
        port.read_until(b"\x00")  # the bare delimiter the link starts with
        port.write(b"\x05\x01\x02")  # half a frame, then the line goes quiet
        port.write(hello)  # straight after: it merges with the half frame and is lost
        assert port.read(1) == b""
        port.write(b"\x05\x01\x02")
        time.sleep(1.5)  # well over link.serial.IDLE_RESET_MS, even on a loaded machine
        port.write(hello)
        answer = port.read_until(b"\x00")
        (fr,) = wf.Decoder(4096).feed(answer)
        assert (fr.type, fr.seq, fr.payload[0]) == (op.OP_HELLO, 1, op.ST_OK)
        port.write(b"\x05\x01")
        time.sleep(1.5)
        port.write(b"\r\x03")  # the break-in counts as a frame start after the gap
        assert b"LEFT PROTOCOL MODE 2" in port.read_until(b">>> ")


async def test_set_time_to_now_sends_ms_and_tries_again_after_a_slow_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got: list[tuple[int, int]] = []

    def respond(fr: wf.Frame) -> bytes:
        if fr.type == op.OP_HELLO:
            return wf.encode(fr.type, 1, fr.seq, hello_body())
        got.append(op.get_instant(fr.payload, 0, len(fr.payload), False))
        time.sleep(0.02)  # every answer slower than the client's 5 ms bound
        return wf.encode(fr.type, 1, fr.seq, b"\x00" + len(got).to_bytes(4, "little"))

    fake = FakeDevice(respond)
    try:
        async with DeviceClient(SerialTransport(fake.path), timeout_s=1.0) as dev:
            before = time.time()
            assert await dev.set_time() == 1  # what the clock read before the first set
            after = time.time()
            assert len(got) == client_module.SET_TIME_TRIES  # each with a fresh reading
            assert len(set(got)) == len(got)
            for unix_s, ms in got:
                assert before - 0.001 <= unix_s + ms / 1000 <= after + 0.001
            assert dev.clock_error_s is not None and dev.clock_error_s >= 0.02
            monkeypatch.setattr(client_module, "SET_TIME_TIGHT_S", 60.0)
            assert await dev.set_time() == 4  # a round trip within the bound: once
            assert len(got) == client_module.SET_TIME_TRIES + 1
            assert await dev.set_time(1_700_000_000.25) == 5  # a given time: once
            assert got[-1] == (1_700_000_000, 250)
    finally:
        fake.close()
