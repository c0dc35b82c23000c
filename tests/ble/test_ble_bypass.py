"""The split HELLO: a central without a key sends a HELLO cut over two PLAIN records whose
second record is on its own a whole request of another type (tests/ble/forge.py). The
device must run the HELLO the bytes make, never the request hidden in them: for every
opcode, on a paired device and on an unpaired one, nothing changes on the device."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from repcue import plan
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

from . import forge
from .attacker import RawCentral
from .conftest import DEVICE_ID

PROGRAM = plan.program_bytes(plan.parse("name: short\n3x1s / 1s jog\n"))


@dataclass(frozen=True)
class DeviceState:
    """Everything a forged request could change, read over an authenticated link."""

    program_id: int
    sessions: tuple[tuple[int, int, bool], ...]
    running: bool
    clock_set: bool
    cue_strength_pct: int


async def state_of(dev: DeviceClient) -> DeviceState:
    info = await dev.device_info()
    sessions = tuple((s.session_id, s.size_bytes, s.complete) for s in await dev.list_sessions())
    config = await dev.config_get()
    return DeviceState(
        info.program_id,
        sessions,
        info.running,
        info.clock_s >= 1_900_000_000,
        config.cue_strength_pct,
    )


async def record_a_session(dev: DeviceClient) -> None:
    async for _ in dev.upload_program(PROGRAM):
        pass
    await dev.start()
    for _ in range(200):
        if not (await dev.device_info()).running:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the session did not end")


async def split_hello_attack(radio: VirtualRadio, name: str) -> dict[int, list[tuple[int, int]]]:
    """Each opcode's attack on a fresh connection; what came back: (frame type, status)."""
    answers: dict[int, list[tuple[int, int]]] = {}
    async with RawCentral(radio.adapter("mallory")) as mallory:
        for opcode, payload in forge.REQUESTS.items():
            first, second = forge.split_hello(opcode, payload)
            await mallory.connect(name)
            await mallory.write(rec.encode(air.REC_PLAIN, first))
            await mallory.write(rec.encode(air.REC_PLAIN, second))
            got = answers.setdefault(opcode, [])
            wait_s = 5.0  # for the one answer; then a moment for any other
            while True:
                try:
                    record = await mallory.next_record(wait_s)
                except TimeoutError:
                    break
                wait_s = 0.1
                for frame in wf.Decoder(wf.MAX_FRAME_LIMIT).feed(record.body):
                    got.append((frame.type, frame.payload[0]))
            await mallory.close()
    return answers


def assert_only_hello_answered(answers: dict[int, list[tuple[int, int]]]) -> None:
    for opcode, got in answers.items():
        name = op.OP_NAMES[opcode]
        assert got, f"{name}: no answer at all"
        assert all(ftype == op.OP_HELLO for ftype, _status in got), f"{name} ran: {got}"


@pytest.fixture
async def owned(radio: VirtualRadio, keys: KeyStore, key: bytes) -> AsyncIterator[VirtualBleDevice]:
    """A paired device with a program and one recorded session."""
    vdev = VirtualBleDevice(radio, pair_key=key, device_id=DEVICE_ID, speed=200)
    keys.put(DEVICE_ID, key, name=vdev.name)
    async with vdev:
        async with DeviceClient(BleTransport(vdev.name, keys=keys)) as dev:
            await record_a_session(dev)
        yield vdev


async def test_split_hello_runs_no_request_on_a_paired_device(
    owned: VirtualBleDevice, keys: KeyStore, radio: VirtualRadio
) -> None:
    async with DeviceClient(BleTransport(owned.name, keys=keys)) as dev:
        before = await state_of(dev)
    assert_only_hello_answered(await split_hello_attack(radio, owned.name))
    async with DeviceClient(BleTransport(owned.name, keys=keys)) as dev:
        assert await state_of(dev) == before  # and the key still works: not unpaired


async def test_split_hello_runs_no_request_on_an_unpaired_device(radio: VirtualRadio) -> None:
    async with VirtualBleDevice(radio, pair_key=b"", device_id=DEVICE_ID, speed=200) as vdev:
        async with DeviceClient(SerialTransport(vdev.pty_path)) as usb:  # the cable may
            await record_a_session(usb)
            before = await state_of(usb)
        answers = await split_hello_attack(radio, vdev.name)
        async with DeviceClient(SerialTransport(vdev.pty_path)) as usb:
            assert await state_of(usb) == before
            assert not await usb.unpair()  # PAIR did not run either: no key was stored
    assert_only_hello_answered(answers)
