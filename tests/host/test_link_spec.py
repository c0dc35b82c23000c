"""Device specs, port discovery and opening errors, and the sim: transport's launcher."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from repcue.devices import make_transport, open_device
from repcue.errors import PortBusyError, PortNotFoundError, TransportError
from repcue.link import DeviceSpec, parse_spec
from repcue.link import serial as link_serial
from repcue.link.serial import SerialTransport
from repcue.sim.transport import SimTransport
from tests.firmware.test_link_rig import MpyDevice


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("serial:/dev/ttyACM0", DeviceSpec("serial", "/dev/ttyACM0")),
        ("serial:auto", DeviceSpec("serial", "auto")),
        ("serial:/dev/ttyUSB0@921600", DeviceSpec("serial", "/dev/ttyUSB0", 921600)),
        ("  sim:  ", DeviceSpec("sim", "")),
        ("sim:runs/flash.img", DeviceSpec("sim", "runs/flash.img")),
        ("ble:repcue-1a2b", DeviceSpec("ble", "repcue-1a2b")),
        # a bare path is a serial port, as every MicroPython tool takes it
        ("/dev/ttyACM0", DeviceSpec("serial", "/dev/ttyACM0")),
        ("./pty0@115200", DeviceSpec("serial", "./pty0", 115200)),
        ("COM3", DeviceSpec("serial", "COM3")),
    ],
)
def test_parse_spec(spec: str, expected: DeviceSpec) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("usb:foo", "unknown device"),
        ("ttyACM0", "unknown device"),
        ("serial:", "needs a port path"),
        ("serial:/dev/x@12", "out of range"),
        ("ble:", "needs a device name"),
    ],
)
def test_bad_specs_say_what_works(spec: str, says: str) -> None:
    with pytest.raises(TransportError) as info:
        parse_spec(spec)
    assert says in str(info.value)


@pytest.mark.parametrize("spec", ["usb:foo", "garbage", "ttyACM0"])
def test_an_unknown_spec_lists_every_accepted_form(spec: str) -> None:
    with pytest.raises(TransportError) as info:
        parse_spec(spec)
    for form in ("serial:PATH", "bare path", "serial:auto", "sim:", "sim:FLASH.img"):
        assert form in str(info.value)
    for form in ("ble:NAME", "ble:ADDRESS", "ble:auto"):
        assert form in str(info.value)


def _port(device: str, vid: int | None, pid: int | None) -> Any:
    return SimpleNamespace(device=device, vid=vid, pid=pid, serial_number="123")


def test_serial_auto_finds_the_one_board(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = [
        _port("/dev/ttyS0", None, None),
        _port("/dev/ttyUSB0", 0x10C4, 0xEA60),  # a UART bridge: could be anything
        _port("/dev/ttyACM1", 0x2E8A, 0x0005),  # a Pico running MicroPython
    ]
    monkeypatch.setattr(link_serial.list_ports, "comports", lambda: ports)
    boards = link_serial.find_boards()
    assert [b.device for b in boards] == ["/dev/ttyACM1"]
    assert "Pico" in boards[0].description
    assert link_serial.resolve_port("auto") == "/dev/ttyACM1"
    assert link_serial.resolve_port("/dev/other") == "/dev/other"

    ports.append(_port("/dev/ttyACM0", 0x303A, 0x1001))
    with pytest.raises(TransportError) as info:
        link_serial.resolve_port("auto")
    assert "/dev/ttyACM0, /dev/ttyACM1" in str(info.value)

    monkeypatch.setattr(link_serial.list_ports, "comports", list)
    with pytest.raises(PortNotFoundError) as missing:
        link_serial.resolve_port("auto")
    assert missing.value.exit_code == 10


async def test_a_missing_port(tmp_path: Any) -> None:
    transport = SerialTransport(str(tmp_path / "ttyNOPE"))
    with pytest.raises(PortNotFoundError) as info:
        await transport.open()
    assert "does not exist" in str(info.value)
    assert info.value.port.endswith("ttyNOPE")


async def test_a_busy_port() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        first = SerialTransport(os.ttyname(slave))
        await first.open()
        try:
            with pytest.raises(PortBusyError) as info:
                await SerialTransport(os.ttyname(slave)).open()
            assert info.value.exit_code == 11 and "busy" in str(info.value)
        finally:
            await first.close()
        again = SerialTransport(os.ttyname(slave))  # closed: free again
        await again.open()
        await again.close()
    finally:
        os.close(slave)
        os.close(master)


class Launched:
    """What a launcher returns: a running device with serial_path and close()."""

    def __init__(self, flash_path: str | None, speed: float, *, async_close: bool) -> None:
        self.flash_path = flash_path
        self.speed = speed
        self.device = MpyDevice()
        self.device.start()
        self.serial_path = self.device.serial_path
        self.closed = False
        self._async_close = async_close

    def close(self) -> Any:
        if not self._async_close:
            self._close()
            return None

        async def later() -> None:
            self._close()

        return later()

    def _close(self) -> None:
        self.device.stop()
        self.closed = True


@pytest.fixture
def launched() -> Iterator[list[Launched]]:
    made: list[Launched] = []
    yield made
    for item in made:
        if not item.closed:
            item.device.stop()


@pytest.mark.parametrize("async_close", [False, True])
async def test_sim_spec_starts_and_stops_a_device(
    launched: list[Launched], async_close: bool
) -> None:
    def launcher(flash_path: str | None = None, speed: float = 1) -> Launched:
        launched.append(Launched(flash_path, speed, async_close=async_close))
        return launched[-1]

    async with open_device("sim:my.img", sim_speed=60, sim_launcher=launcher) as dev:
        info = await dev.hello()
        assert info.name == "mem-device"
        assert isinstance(dev.transport, SimTransport)
        assert dev.transport.description == "sim:my.img"
    (only,) = launched
    assert (only.flash_path, only.speed) == ("my.img", 60)
    assert only.closed


async def test_a_launcher_that_fails_is_a_transport_error() -> None:
    def launcher(flash_path: str | None = None, speed: float = 1) -> Any:
        raise OSError("no micropython here")

    transport = make_transport("sim:", sim_launcher=launcher)
    with pytest.raises(TransportError) as info:
        await transport.open()
    assert "cannot start the virtual device: no micropython here" in str(info.value)


def test_ble_specs_go_to_the_ble_transport() -> None:
    from repcue.link.ble.transport import BleTransport

    transport = make_transport("ble:repcue-1a2b")  # built, not connected
    assert isinstance(transport, BleTransport) and transport.target == "repcue-1a2b"
