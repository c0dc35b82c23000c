"""A fake watch with the paired device's name gets nothing from the host: not the time,
not a program, not an ACK, and the store is never written, whether it shows another
serial number, none at all, or is simply a device this computer never paired."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from repcue.errors import AuthError
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.sim.ble.radio import RadioServer, VirtualRadio
from repcue.store import Store
from repcue.sync import sync
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op

from .conftest import DEVICE_ID
from .impostor import FORGED_ID, Impostor

NAME = "repcue-0001"  # the paired device's name (DEVICE_ID ends in 0001)


@pytest.fixture
def paired_keys(tmp_path: Path) -> KeyStore:
    """A key store that holds the real device's key; the real device is switched off."""
    keys = KeyStore(tmp_path / "keys.json")
    keys.put(DEVICE_ID, new_key(), name=NAME)
    return keys


@pytest.mark.parametrize("serial", ["aaaaaa0001", None], ids=["another-serial", "no-serial"])
async def test_an_impostor_of_a_paired_name_is_refused_and_learns_nothing(
    radio: VirtualRadio, paired_keys: KeyStore, serial: str | None, tmp_path: Path
) -> None:
    async with Impostor(radio, NAME, serial=serial) as fake:
        with Store(tmp_path / "store.db") as store:
            with pytest.raises(AuthError) as refused:
                async with DeviceClient(BleTransport(NAME, keys=paired_keys)) as dev:
                    await sync(dev, store)
            assert store.devices() == [] and store.sync_cursor("aaaaaa0001") == 0
    assert refused.value.code == air.ERR_BAD_PROOF
    assert fake.frames == []  # no frame at all: not even HELLO
    if serial is None:
        # it was asked to prove it holds the key, and could not
        assert fake.records == [air.REC_CHALLENGE]
        assert "could not prove" in str(refused.value)
    else:
        assert fake.records == []  # refused on its serial, before a byte was written
        assert "not the paired device" in str(refused.value)


async def test_an_unpaired_device_gets_hello_and_nothing_else(
    radio: VirtualRadio, tmp_path: Path
) -> None:
    keys = KeyStore(tmp_path / "keys.json")  # pairs with nothing
    async with Impostor(radio, "repcue-9999", serial="9999") as fake:
        transport = BleTransport("repcue-9999", keys=keys)
        async with DeviceClient(transport) as dev:
            with Store(tmp_path / "store.db") as store:
                with pytest.raises(AuthError, match="not authenticated"):
                    await sync(dev, store)
                assert store.devices() == []
            info = await dev.hello()
            assert info.name == "repcue-9999" and not dev.authenticated
            for refused in (dev.set_time(1_700_000_000), dev.ack_sessions([FORGED_ID])):
                with pytest.raises(AuthError, match="pair it over USB"):
                    await refused
            # the transport refuses too, whoever asks it: only whole HELLO frames go out
            for data in (
                wf.encode(op.OP_SET_TIME, 0, 9, op.u32(1)),
                wf.encode(op.OP_HELLO, 0, 9, op.hello_req(512))[:-3],  # not a whole frame
                wf.encode(op.OP_HELLO, 0, 9, op.hello_req(512)) + b"\x05\x01",
            ):
                with pytest.raises(AuthError, match="not paired"):
                    await transport.send(data)
            await asyncio.sleep(0.1)
    assert fake.frames == [op.OP_HELLO]
    assert fake.services.acked == [] and fake.services.uploads == 0


async def test_sync_and_upload_from_the_command_line_refuse_an_impostor(
    radio: VirtualRadio, tmp_path: Path
) -> None:
    """`repcue sync` and `repcue upload` in another process, as a user runs them."""
    keys_path = tmp_path / "keys.json"
    KeyStore(keys_path).put(DEVICE_ID, new_key(), name=NAME)
    server = RadioServer(radio, str(tmp_path / "radio.sock"))
    await server.start()
    env = dict(
        os.environ,
        REPCUE_BLE_RADIO=str(tmp_path / "radio.sock"),
        REPCUE_KEYS=str(keys_path),
        REPCUE_DB=str(tmp_path / "store.db"),
    )
    try:
        async with Impostor(radio, NAME, serial=None) as fake:
            for args in (["sync"], ["upload", "6x800m / 90s jog"]):
                code, err = await _repcue(env, *args, "--device", f"ble:{NAME}")
                assert code == AuthError.exit_code, err
                assert "could not prove it holds our key" in err and "Traceback" not in err
    finally:
        await server.close()
    assert fake.frames == []
    assert fake.services.acked == [] and fake.services.uploads == 0
    with Store(tmp_path / "store.db") as store:
        assert store.devices() == [] and store.session_count() == 0


async def _repcue(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "repcue",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, err.decode() + out.decode()
