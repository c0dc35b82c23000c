"""Nobody but the paired host gets in: each attack is refused, changes nothing on the
device, and the paired host is served afterwards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from repcue import plan
from repcue.errors import DisconnectedError
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.link.messages import SessionEntry
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue.sim.options import AutopilotOptions
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

from .attacker import RawCentral
from .conftest import DEVICE_ID

PROGRAM = plan.program_bytes(plan.parse("name: short\n3x1s / 1s jog\n"))
QUICK_DEADLINES = {"challenge_deadline_ms": 1000, "proof_deadline_ms": 500, "grace_ms": 500}


@dataclass(frozen=True)
class State:
    program_id: int
    sessions: tuple[SessionEntry, ...]
    running: bool


def why(err: BaseException) -> str:
    """The messages along an error's cause chain."""
    parts = []
    cause: BaseException | None = err
    while cause is not None:
        parts.append(str(cause))
        cause = cause.__cause__
    return " <- ".join(parts)


async def snapshot(dev: DeviceClient) -> State:
    info = await dev.device_info()
    return State(info.program_id, tuple(await dev.list_sessions()), info.running)


async def run_once(dev: DeviceClient) -> None:
    await dev.start()
    for _ in range(200):
        if not (await dev.device_info()).running:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the session did not end")


@pytest.fixture
async def guarded(
    radio: VirtualRadio, keys: KeyStore, key: bytes
) -> AsyncIterator[VirtualBleDevice]:
    """A paired device with a program installed and one session recorded, with deadlines
    quick enough to test (an idle stranger is dropped after 1 s, replaceable after 0.5 s)."""
    vdev = VirtualBleDevice(
        radio,
        pair_key=key,
        device_id=DEVICE_ID,
        speed=200,
        autopilot=AutopilotOptions(),
        link_options=QUICK_DEADLINES,
    )
    keys.put(DEVICE_ID, key, name=vdev.name)
    async with vdev:
        async with DeviceClient(BleTransport(vdev.name, keys=keys, scan_timeout_s=5)) as dev:
            async for _ in dev.upload_program(PROGRAM):
                pass
            await run_once(dev)
        yield vdev


@pytest.fixture
def host(keys: KeyStore) -> Callable[[VirtualBleDevice], DeviceClient]:
    def make(vdev: VirtualBleDevice) -> DeviceClient:
        return DeviceClient(BleTransport(vdev.name, keys=keys, scan_timeout_s=5))

    return make


async def test_a_stranger_gets_hello_only_and_is_dropped_after_three_refusals(
    guarded: VirtualBleDevice, host: Callable[[VirtualBleDevice], DeviceClient], radio: VirtualRadio
) -> None:
    async with host(guarded) as dev:
        before = await snapshot(dev)
    async with RawCentral(radio.adapter("stranger")) as stranger:
        await stranger.connect(guarded.name)
        hello = await stranger.request(op.OP_HELLO, op.hello_req(512))
        assert hello.payload[0] == op.ST_OK
        for seq, (opcode, payload) in enumerate(
            [(op.OP_START, b""), (op.OP_ACK_SESSIONS, op.ack_sessions_req([1]))], start=2
        ):
            answer = await stranger.request(opcode, payload, seq=seq)
            assert (answer.type, answer.payload[0]) == (opcode, op.ST_AUTH)
        # the third refusal on one connection ends it
        await stranger.send_frame(op.OP_STOP, b"", seq=9)
        await stranger.wait_gone()
    async with host(guarded) as dev:
        assert await snapshot(dev) == before


async def test_wrong_key_is_refused_both_ways_and_costs_the_connection(
    guarded: VirtualBleDevice,
    host: Callable[[VirtualBleDevice], DeviceClient],
    radio: VirtualRadio,
    tmp_path: os.PathLike[str],
) -> None:
    async with host(guarded) as dev:
        before = await snapshot(dev)
    # a host holding another key: the device cannot prove it holds ours, so we stop
    wrong = KeyStore(tmp_path / "wrong.json")
    wrong.put(DEVICE_ID, new_key())
    with pytest.raises(rec.AuthError) as exc:
        async with DeviceClient(BleTransport(guarded.name, keys=wrong)):
            pass
    assert exc.value.code == air.ERR_BAD_PROOF
    # a stranger that sends a proof anyway is refused and dropped: one guess a connection
    async with RawCentral(radio.adapter("mallory")) as mallory:
        for attempt in range(5):
            await mallory.connect(guarded.name)
            await mallory.write(rec.encode(air.REC_CHALLENGE, os.urandom(16)))
            assert (await mallory.next_record()).type == air.REC_CHALLENGE_RSP
            await mallory.write(rec.encode(air.REC_PROOF, os.urandom(32)))
            answer = await mallory.next_record()
            assert answer.type == air.REC_ERROR
            assert rec.error_text(answer.body)[0] == air.ERR_BAD_PROOF, attempt
            await mallory.wait_gone()
    # no lock-out: the owner gets straight in after any number of failed guesses
    async with host(guarded) as dev:
        assert await snapshot(dev) == before


async def test_recorded_exchange_cannot_be_replayed(
    guarded: VirtualBleDevice,
    host: Callable[[VirtualBleDevice], DeviceClient],
    keys: KeyStore,
    radio: VirtualRadio,
) -> None:
    transport = BleTransport(guarded.name, keys=keys)
    transport.capture = []
    async with DeviceClient(transport) as dev:
        await run_once(dev)  # START, sealed: what an eavesdropper would love to replay
        before = await snapshot(dev)
    captured = list(transport.capture)
    kinds = [rec.RecordParser().feed(r)[0].type for r in captured]
    assert kinds[:2] == [air.REC_CHALLENGE, air.REC_PROOF]
    assert air.REC_SECURE in kinds
    async with RawCentral(radio.adapter("eve")) as eve:
        await eve.connect(guarded.name)
        answers = []
        for record in captured:
            await eve.write(record)
            try:
                answers.append(await eve.next_record(3.0))
            except TimeoutError:
                break
            if eve.gone.is_set():
                break
        errors = [rec.error_text(a.body)[0] for a in answers if a.type == air.REC_ERROR]
        # a fresh device nonce makes the old proof wrong; sealed records need a session
        assert errors[0] == air.ERR_BAD_PROOF
        assert all(e in (air.ERR_BAD_PROOF, air.ERR_AUTH_REQUIRED) for e in errors)
        assert not [a for a in answers if a.type in (air.REC_AUTH_OK, air.REC_SECURE)]
    async with host(guarded) as dev:
        assert await snapshot(dev) == before  # no second session was started


async def test_replay_inside_a_session_drops_the_link(
    guarded: VirtualBleDevice, host: Callable[[VirtualBleDevice], DeviceClient], keys: KeyStore
) -> None:
    transport = BleTransport(guarded.name, keys=keys)
    async with DeviceClient(transport, retries=0) as dev:
        transport.capture = []
        await run_once(dev)
        before = await snapshot(dev)
        start_record = transport.capture[0]  # the sealed START
        await transport.send_raw(start_record)
        with pytest.raises(DisconnectedError) as exc:
            await dev.device_info()
        assert "replayed" in why(exc.value)
    async with host(guarded) as dev:
        assert await snapshot(dev) == before


@pytest.mark.parametrize("how", ["plain", "stripped"])
async def test_frame_without_its_mac_is_refused(
    guarded: VirtualBleDevice,
    host: Callable[[VirtualBleDevice], DeviceClient],
    keys: KeyStore,
    how: str,
) -> None:
    transport = BleTransport(guarded.name, keys=keys)
    async with DeviceClient(transport, retries=0) as dev:
        before = await snapshot(dev)
        start = wf.encode(op.OP_START, 0, 999, b"")
        if how == "plain":
            forged = rec.encode(air.REC_PLAIN, start)
        else:
            session = transport.session
            assert session is not None
            counter = (session.tx_ctr + 1).to_bytes(2, "little")
            forged = rec.encode(air.REC_SECURE, counter + start)  # the right counter, no MAC
        await transport.send_raw(forged)
        with pytest.raises(DisconnectedError) as exc:
            await dev.device_info()
        assert "bad MAC" in why(exc.value)
    async with host(guarded) as dev:
        assert await snapshot(dev) == before


async def test_flood_of_connections_leaves_the_paired_host_served(
    guarded: VirtualBleDevice, host: Callable[[VirtualBleDevice], DeviceClient], radio: VirtualRadio
) -> None:
    async with host(guarded) as dev:
        before = await snapshot(dev)
    flood = RawCentral(radio.adapter("flood"))
    for i in range(12):
        await flood.connect(guarded.name)
        if i % 3 == 0:  # wrong proofs: these lock the device for a moment
            await flood.write(rec.encode(air.REC_CHALLENGE, os.urandom(16)))
            await flood.write(rec.encode(air.REC_PROOF, os.urandom(32)))
        elif i % 3 == 1:  # garbage
            await flood.write(os.urandom(40))
        await flood.close()
    # one that just sits there is dropped when its time to authenticate runs out
    await flood.connect(guarded.name)
    await flood.wait_gone(timeout_s=10.0)
    async with host(guarded) as dev:
        assert await snapshot(dev) == before
        await run_once(dev)  # and it is fully served
        assert len(await dev.list_sessions()) == len(before.sessions) + 1
