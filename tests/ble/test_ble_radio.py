"""The virtual radio itself: scanning through bleak's public API, the standard services,
size limits, a prompt DisconnectedError, and a central in another process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from repcue.errors import DeviceNotFoundError, DisconnectedError
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.scan import scan_devices
from repcue.link.ble.transport import BleTransport
from repcue.link.client import DeviceClient
from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner
from repcue.sim.ble.radio import RadioServer, VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice
from repcue_fw.wire import air


async def test_scan_finds_the_device_by_service_with_its_full_name(
    paired: VirtualBleDevice, keys: KeyStore, radio: VirtualRadio
) -> None:
    found = await scan_devices(0.3, keys=keys)
    assert [(d.name, d.paired) for d in found] == [(paired.name, True)]
    assert found[0].rssi < 0
    # a filter on another service hides it
    other = await BleakScanner.discover(
        timeout=0.3, service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"], backend=BumbleScanner
    )
    assert other == []


async def test_device_information_and_battery_services(paired: VirtualBleDevice) -> None:
    device = await BleakScanner.find_device_by_name(paired.name, timeout=5, backend=BumbleScanner)
    assert device is not None
    async with BleakClient(device, backend=BumbleClient) as client:
        read = client.read_gatt_char
        assert await read("00002a29-0000-1000-8000-00805f9b34fb") == b"repcue"
        assert await read("00002a24-0000-1000-8000-00805f9b34fb") == b"sim"
        assert await read("00002a25-0000-1000-8000-00805f9b34fb") == paired.device_id.encode()
        assert await read("00002a19-0000-1000-8000-00805f9b34fb") == b"\x64"
        rx = client.services.get_characteristic(air.RX_UUID)
        assert rx is not None and rx.properties == ["write-without-response"]
        tx = client.services.get_characteristic(air.TX_UUID)
        assert tx is not None and tx.properties == ["notify"]
        with pytest.raises(BleakError):  # RX is write-only
            await read(air.RX_UUID)
        # a write without response longer than ATT_MTU-3 is refused, as a real stack does
        with pytest.raises(BleakError, match="ATT_MTU-3"):
            await client.write_gatt_char(rx, bytes(client.mtu_size - 2), response=False)


async def test_link_loss_raises_disconnected_at_once(
    paired: VirtualBleDevice, keys: KeyStore
) -> None:
    transport = BleTransport(paired.name, keys=keys)
    async with DeviceClient(transport, timeout_s=30) as dev:
        await dev.hello()
        reader = asyncio.create_task(transport.receive())
        await asyncio.sleep(0)
        assert paired.bridge is not None
        await paired.bridge.drop_links()
        with pytest.raises(DisconnectedError):
            await asyncio.wait_for(reader, 5)  # far below the 30 s request timeout
        with pytest.raises(DisconnectedError):
            await transport.send(b"\x00")


async def test_unknown_name_is_a_clear_error(
    paired: VirtualBleDevice, transport_for: Callable[..., BleTransport]
) -> None:
    transport = transport_for("repcue-nope")
    transport.scan_timeout_s = 0.3
    with pytest.raises(DeviceNotFoundError, match="repcue-nope"):
        await transport.open()


async def test_auto_and_address_specs(
    paired: VirtualBleDevice, keys: KeyStore, transport_for: Callable[..., BleTransport]
) -> None:
    auto = transport_for("auto", keys=keys, auto_window_s=0.3)
    async with DeviceClient(auto) as dev:
        assert (await dev.hello()).device_id == paired.device_id
    by_address = transport_for(auto.address, keys=keys)
    async with DeviceClient(by_address) as dev:
        assert (await dev.hello()).name == paired.name
        assert by_address.authenticated


REMOTE = """
import asyncio, sys
from repcue.link.ble.keys import KeyStore
from repcue.devices import make_transport
from repcue.link.client import DeviceClient

async def main():
    async with DeviceClient(make_transport("ble:" + sys.argv[1])) as dev:
        info = await dev.hello()
        await dev.set_time(1_700_000_000)
        print(info.device_id, dev.transport.authenticated)

asyncio.run(main())
"""


async def test_a_central_in_another_process_joins_the_radio(
    paired: VirtualBleDevice, radio: VirtualRadio, keys: KeyStore, tmp_path: Path
) -> None:
    path = str(tmp_path / "radio.sock")
    server = RadioServer(radio, path)
    await server.start()
    try:
        env = dict(os.environ, REPCUE_BLE_RADIO=path, REPCUE_KEYS=str(keys.path))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REMOTE,
            paired.name,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert out.decode().split() == [paired.device_id, "True"]
    finally:
        await server.close()


async def test_virtual_air_in_a_thread_serves_firmware_and_other_processes(
    tmp_path: Path,
) -> None:
    import subprocess

    from repcue.firmware_build.source import MAIN_PY, firmware_root
    from repcue.sim.ble.radio import remote_radio
    from repcue.sim.ble.virtual import VirtualAir
    from repcue.sim.options import micropython_binary

    air = VirtualAir(tmp_path, radio_path=tmp_path / "radio.sock")
    air.start()
    (tmp_path / "cfg.json").write_text('{"id": "51a1a1a1a1", "ble": true}')
    env = dict(os.environ, MICROPYPATH=f"{firmware_root()}:.frozen", REPCUE_BOARD="sim")
    env["REPCUE_CONFIG"] = str(tmp_path / "cfg.json")
    proc = subprocess.Popen(
        [micropython_binary(), "-c", MAIN_PY],
        env=air.firmware_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        radio = remote_radio(air.radio_path)
        device = await BleakScanner.find_device_by_name(
            "repcue-a1a1", timeout=10, backend=BumbleScanner, radio=radio
        )
        assert device is not None
        async with BleakClient(device, backend=BumbleClient, radio=radio) as client:
            serial = await client.read_gatt_char("00002a25-0000-1000-8000-00805f9b34fb")
            assert serial == b"51a1a1a1a1"
    finally:
        proc.terminate()
        proc.wait(5)
        air.stop()
        await radio.close()
    assert not Path(air.radio_path).exists()
