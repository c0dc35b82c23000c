"""ble:auto means a paired device: among the devices heard, the one paired here; several
paired is a question for the user; none paired, the one device heard if there is only one.
It says which it chose, in one line."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice

from repcue.devices import open_device
from repcue.errors import DeviceNotFoundError
from repcue.link.ble.keys import KeyStore, new_key
from repcue.link.ble.transport import BleTransport, choose_auto
from repcue.link.client import DeviceClient
from repcue.sim.ble.radio import VirtualRadio
from repcue.sim.ble.virtual import VirtualBleDevice

OTHER_ID = "51b1e00002"


def _heard(*names: str) -> list[tuple[str, BLEDevice]]:
    return [(n, BLEDevice(f"AA:00:00:00:00:0{i}", n, None)) for i, n in enumerate(names)]


def test_the_choice(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    keys.put("51b1e00001", new_key(), name="repcue-0001")
    device, why = choose_auto(_heard("repcue-9999", "repcue-0001"), keys)
    assert (device.name, why) == ("repcue-0001", "paired")
    device, why = choose_auto(_heard("repcue-9999"), keys)
    assert device.name == "repcue-9999" and why.startswith("not paired here")
    with pytest.raises(
        DeviceNotFoundError, match=r"\(repcue-8888, repcue-9999\), none paired here"
    ):
        choose_auto(_heard("repcue-9999", "repcue-8888"), keys)
    with pytest.raises(DeviceNotFoundError, match="no repcue device is advertising"):
        choose_auto([], keys)
    keys.put("51b1e00002", new_key(), name="repcue-0002")
    with pytest.raises(DeviceNotFoundError, match=r"several paired .*\(repcue-0001, repcue-0002\)"):
        choose_auto(_heard("repcue-0002", "repcue-9999", "repcue-0001"), keys)


@pytest.fixture
async def stranger(radio: VirtualRadio) -> AsyncIterator[VirtualBleDevice]:
    """A second device, paired with nobody here, advertising beside `paired`."""
    async with VirtualBleDevice(radio, pair_key=b"", device_id=OTHER_ID) as vdev:
        yield vdev


async def test_auto_takes_the_paired_device_and_says_so(
    paired: VirtualBleDevice,
    stranger: VirtualBleDevice,
    keys: KeyStore,
    transport_for: Callable[..., BleTransport],
) -> None:
    told: list[str] = []
    auto = transport_for("auto", keys=keys, auto_window_s=0.5, notice=told.append)
    async with DeviceClient(auto) as dev:
        assert (await dev.hello()).device_id == paired.device_id
        assert auto.authenticated
    assert told == [f"ble:auto: using {paired.name} (paired)"]


async def test_auto_with_only_an_unpaired_device_takes_it_and_says_so(
    stranger: VirtualBleDevice, keys: KeyStore, transport_for: Callable[..., BleTransport]
) -> None:
    told: list[str] = []
    auto = transport_for("auto", keys=keys, auto_window_s=0.5, notice=told.append)
    async with DeviceClient(auto) as dev:
        assert (await dev.hello()).name == stranger.name
        assert not auto.authenticated
    assert told == [
        f"ble:auto: using {stranger.name} (not paired here: the only repcue device nearby)"
    ]


async def test_timeout_shortens_the_ble_scan(radio: VirtualRadio) -> None:
    client = open_device("ble:repcue-nosuchdevice", wait_s=0.5)
    assert isinstance(client.transport, BleTransport)
    started = time.monotonic()
    with pytest.raises(DeviceNotFoundError, match=r"repcue-nosuchdevice.*within 0.5 s"):
        await client.open()
    assert time.monotonic() - started < 2.0  # 10 s without --timeout
