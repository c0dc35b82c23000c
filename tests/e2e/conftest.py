"""Fixtures for the end-to-end tests: virtual devices that are always stopped, a private
registry of running devices, and a flash image with recorded sessions to copy from."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repcue.sim import VirtualDevice
from tests.e2e.rig import TWENTY_STEPS, record_sessions, stepped_device
from tests.e2e.rig import client as make_client

StartDevice = Callable[..., VirtualDevice]
TEMPLATE_SESSIONS = 6


@pytest.fixture(scope="session", autouse=True)
def _private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # `repcue devices` on this machine must not list the tests' virtual devices
    old = os.environ.get("REPCUE_SIM_REGISTRY")
    os.environ["REPCUE_SIM_REGISTRY"] = str(tmp_path_factory.mktemp("registry"))
    yield
    if old is None:
        os.environ.pop("REPCUE_SIM_REGISTRY", None)
    else:
        os.environ["REPCUE_SIM_REGISTRY"] = old


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


@pytest.fixture
def start_device() -> Iterator[StartDevice]:
    """start_device(flash=..., **SimOptions fields) -> a running stepped-clock device with
    the autopilot on; stopped after the test, which fails if a micropython outlives it."""
    devices: list[VirtualDevice] = []

    def start(flash: Path | None = None, **fields: object) -> VirtualDevice:
        device = stepped_device(flash, **fields)
        devices.append(device)
        return device

    yield start
    pids = [d.proc.pid for d in devices if d.proc is not None]
    for device in devices:
        device.stop()
    leaked = [pid for pid in pids if _alive(pid)]
    assert not leaked, f"micropython processes left running: {leaked}"


@pytest.fixture(scope="module")
def template_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flash image holding TWENTY_STEPS installed and TEMPLATE_SESSIONS finished,
    unsynced sessions of it. Copy it (`copy_image`) before booting a device on it."""
    image = tmp_path_factory.mktemp("template") / "flash.img"
    device = stepped_device(image, device_id="e2e0000001")
    try:

        async def install() -> None:
            async with make_client(device.pty_path) as dev:
                async for _ in dev.upload_program(TWENTY_STEPS):
                    pass

        asyncio.run(install())
        record_sessions(device, TEMPLATE_SESSIONS)
    finally:
        device.stop()
    return image


@pytest.fixture
def copy_image(template_image: Path, tmp_path: Path) -> Callable[[str], Path]:
    """copy_image(name) -> a fresh copy of the template image for one device."""

    def copy(name: str = "flash.img") -> Path:
        target = tmp_path / name
        shutil.copyfile(template_image, target)
        return target

    return copy
