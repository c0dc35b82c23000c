"""The whole path to the coach's page: two virtual devices run a session each, with a real
bridge each (`repcue live --mqtt`, retained state after every event) into a real Mosquitto,
`repcue coach` reading it, and Debian's chromium (Playwright) showing the page; at the end
`repcue sync --mqtt` publishes the finished sessions, which the page lists."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from repcue.sim import VirtualDevice
from tests.broker import Broker, mosquitto
from tests.coach.helpers import run_coach
from tests.e2e.conftest import StartDevice
from tests.e2e.test_e2e_live import _drive, _install

CHROMIUM = "/usr/lib/chromium/chromium"
ATHLETES = ("ana", "ben")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    users = {name: f"{name}-secret" for name in (*ATHLETES, "coach")}
    with mosquitto(tmp_path / "broker", users) as b:
        yield b


def _bridge(device: VirtualDevice, broker: Broker, athlete: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "repcue", "live", "--device", f"serial:{device.pty_path}",
         "--json", "--start", "--mqtt", broker.url(athlete), "--athlete", athlete],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def _reps_seen(page: Page, until: threading.Event) -> dict[str, set[str]]:
    """Every rep i/n each tile showed while the athletes ran, read as a coach reads it."""
    seen: dict[str, set[str]] = {name: set() for name in ATHLETES}
    while not until.is_set():
        for name in ATHLETES:
            rep = page.locator(f'.tile[data-key^="{name}/"] .rep')
            if rep.count():
                seen[name].add(rep.inner_text().strip())
        page.wait_for_timeout(50)
    return seen


def test_the_page_follows_real_bridges_of_running_devices(
    start_device: StartDevice, broker: Broker, tmp_path: Path
) -> None:
    devices = [start_device() for _ in ATHLETES]
    for device in devices:
        asyncio.run(_install(device.pty_path))
    with (
        run_coach("--mqtt", broker.url("coach")) as coach,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 412, "height": 915})
        page.goto(coach.base + "/")
        drivers = [_drive(device, chunk_ms=1000, pause_s=0.04) for device in devices]
        bridges = [_bridge(d, broker, name) for d, name in zip(devices, ATHLETES, strict=True)]
        page.wait_for_selector(".tile >> nth=1", timeout=30_000)
        assert page.locator(".tile .athlete").all_inner_texts() == list(ATHLETES)
        done = threading.Event()
        waiter = threading.Thread(
            target=lambda: ([b.wait(120) for b in bridges], done.set()), daemon=True
        )
        waiter.start()
        seen = _reps_seen(page, done)
        for bridge in bridges:
            assert bridge.returncode == 0, bridge.stderr.read() if bridge.stderr else ""
        for driver in drivers:
            driver.join(30)
        for name in ATHLETES:
            # the tile moved through the reps as the device ran them (not only the last)
            reps = {int(text.split("/")[0]) for text in seen[name] if text.endswith("/10")}
            assert len(reps) >= 4 and max(reps) >= 9, seen
            tile = f'.tile[data-key^="{name}/"]'
            # the bridge ended with the session: its last will / offline greys the tile
            page.wait_for_selector(tile + ".offline", timeout=10_000)
            assert page.locator(tile + " .badge").inner_text() == "OFFLINE"
            device_id = page.get_attribute(tile, "data-key").split("/")[1]  # type: ignore[union-attr]
            assert device_id in page.locator(tile + " .device").inner_text()
        # each athlete syncs: the finished session reaches the page's list, once each
        for device, name in zip(devices, ATHLETES, strict=True):
            subprocess.run(
                [sys.executable, "-m", "repcue", "sync", "--device", f"serial:{device.pty_path}",
                 "--db", str(tmp_path / f"{name}.db"), "--mqtt", broker.url(name),
                 "--athlete", name],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        page.wait_for_selector("#sessions li >> nth=1", timeout=10_000)
        listed = page.locator("#sessions li").all_inner_texts()
        assert sorted(item.split()[0] for item in listed) == sorted(ATHLETES), listed
        assert all("10/10 reps" in item for item in listed), listed
        shot = tmp_path / "coach-bridges.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        browser.close()
