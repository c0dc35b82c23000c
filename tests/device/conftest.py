"""Virtual devices for the device tests: started per test, always stopped, never leaked."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repcue.sim import SimOptions, VirtualDevice
from repcue_fw.wire.host import program as wp

Start = Callable[..., VirtualDevice]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


@pytest.fixture(autouse=True)
def _private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPCUE_SIM_REGISTRY", str(tmp_path / "registry"))


@pytest.fixture
def start_device() -> Iterator[Start]:
    """start_device(**SimOptions fields) -> a running VirtualDevice, stopped after the test;
    the test fails if any of its micropython processes outlives stop()."""
    devices: list[VirtualDevice] = []
    pids: list[int] = []

    def start(**fields: object) -> VirtualDevice:
        dev = VirtualDevice(SimOptions(**fields))  # type: ignore[arg-type]
        devices.append(dev)
        dev.start()
        assert dev.proc is not None
        pids.append(dev.proc.pid)
        return dev

    yield start
    for dev in devices:
        if dev.proc is not None:
            pids.append(dev.proc.pid)
        dev.stop()
    leaked = [pid for pid in pids if _alive(pid)]
    assert not leaked, f"micropython processes left running: {leaked}"


def intervals_program() -> bytes:
    """warm-up 30 s, 3 x (400 m at 3:00/km = 72 s, 60 s jog), cool-down 20 s."""
    return wp.encode(
        wp.Program(
            [
                wp.Step(wp.KIND_WARMUP, wp.END_TIME, 30),
                wp.Repeat(
                    3,
                    [
                        wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 400, wp.TARGET_PACE, 0, 1800),
                        wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 60),
                    ],
                ),
                wp.Step(wp.KIND_COOLDOWN, wp.END_TIME, 20),
            ],
            countdown_s=3,
        )
    )


def short_program() -> bytes:
    """2 x (20 s work, 10 s recovery): 60 s."""
    return wp.encode(
        wp.Program(
            [
                wp.Repeat(
                    2,
                    [
                        wp.Step(wp.KIND_WORK, wp.END_TIME, 20),
                        wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 10),
                    ],
                )
            ],
            countdown_s=2,
        )
    )
