"""The coach's page in a real browser (Debian's chromium, driven by Playwright; never a
downloaded browser build): tiles appear and change as the athletes' bridges publish, the
countdown moves by itself, an offline athlete is greyed, a finished session is listed, and
the group start button publishes a start. A screenshot lands in the test's tmp_path.

The bridges here are publishers replaying state snapshots (the schema of docs/live.md), as
`repcue live --mqtt` publishes them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from playwright.async_api import Page, async_playwright

from repcue.live.mqtt import BrokerUrl
from tests.broker import Broker, mosquitto
from tests.coach.helpers import publish, run_coach, session, snapshot, topic

CHROMIUM = "/usr/lib/chromium/chromium"  # Debian's package (.ci/system-packages installs it)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    users = {name: f"{name}-pw" for name in ("ana", "ben", "cy", "coach")}
    with mosquitto(tmp_path / "broker", users) as b:
        yield b


def tile(key: str) -> str:
    return f'.tile[data-key="{key}"]'


async def text(page: Page, selector: str) -> str:
    return (await page.locator(selector).inner_text()).strip()


async def _one_start(broker: Broker, ready: asyncio.Event) -> dict[str, Any]:
    url = BrokerUrl.parse(broker.url("cy"))
    async with aiomqtt.Client(
        url.host, url.port, username=url.username, password=url.password
    ) as client:
        await client.subscribe("repcue/v1/_group/start", qos=1)
        ready.set()
        async with asyncio.timeout(30):
            async for message in client.messages:
                start: dict[str, Any] = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                return start
    raise AssertionError("no group start")


async def test_the_page_follows_the_athletes_in_chromium(broker: Broker, tmp_path: Path) -> None:
    await publish(
        broker.url("ana"),
        (topic("ana", "a1", "status"), b"online", True),
        (topic("ana", "a1", "state"), snapshot("ana", "a1", rep=1, ends_in_s=300), True),
    )
    await publish(
        broker.url("ben"),
        (topic("ben", "b1", "status"), b"online", True),
        (topic("ben", "b1", "state"), snapshot("ben", "b1", kind="recovery", ends_in_s=25), True),
    )
    await publish(
        broker.url("cy"),
        (topic("cy", "c1", "status"), b"online", True),
        (topic("cy", "c1", "state"), snapshot("cy", "c1", ends_in_s=None), True),
    )
    with run_coach("--mqtt", broker.url("coach")) as coach:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM)
            phone = await browser.new_page(viewport={"width": 412, "height": 915})
            try:
                await _follow(phone, coach.base, broker, tmp_path)
            finally:
                await browser.close()


async def _follow(page: Page, base: str, broker: Broker, tmp_path: Path) -> None:
    await page.goto(base + "/")
    await page.wait_for_selector(".tile >> nth=2")
    assert await page.locator(".tile .athlete").all_inner_texts() == ["ana", "ben", "cy"]
    assert "repcue-a1 · a1" in await text(page, tile("ana/a1") + " .device")
    assert await text(page, tile("ana/a1") + " .kind") == "work"
    assert await text(page, tile("ana/a1") + " .rep") == "1/6"
    assert await text(page, tile("ben/b1") + " .kind") == "recovery"
    assert await text(page, tile("cy/c1") + " .left") == "800 m"  # a distance step
    assert await text(page, tile("ana/a1") + " .badge") == "ONLINE"  # (CSS upper case)
    work = await page.locator(tile("ana/a1") + " .kind").evaluate("e => getComputedStyle(e).color")
    rest = await page.locator(tile("ben/b1") + " .kind").evaluate("e => getComputedStyle(e).color")
    assert work != rest  # each kind in its colour
    assert await text(page, "#link") == "live"

    # the countdown ticks in the page with no message from anyone
    # (5 minutes from the publish: however long chromium took to start on a busy machine)
    before = await text(page, tile("ana/a1") + " .left")
    minutes, seconds = before.split(":")
    assert 0 < int(minutes) * 60 + int(seconds) <= 300, before
    await page.wait_for_function(
        f"document.querySelector('{tile('ana/a1')} .left').textContent !== '{before}'",
        timeout=5000,
    )

    # ana's next rep: 2/6, and her last rep 1.6 s slower than planned
    last = {"rep": 1, "actual_ms": 174_400, "target_ms": 172_800, "diff_ms": 1600,
            "pace_s_per_km": 218.0}  # fmt: skip
    second = snapshot("ana", "a1", rep=2, last_rep=last, seq=9)
    await publish(broker.url("ana"), (topic("ana", "a1", "state"), second, True))
    await page.wait_for_function(
        f"document.querySelector('{tile('ana/a1')} .rep').textContent === '2/6'", timeout=5000
    )
    assert await text(page, tile("ana/a1") + " .last") == "2:54.4"
    assert await text(page, tile("ana/a1") + " .diff") == "+1.6 s"
    assert "slow" in (await page.get_attribute(tile("ana/a1") + " .diff", "class") or "")
    assert await text(page, tile("ana/a1") + " .pace") == "3:38/km"

    # cy's bridge goes: the tile stays, greyed
    await publish(broker.url("cy"), (topic("cy", "c1", "status"), b"offline", True))
    await page.wait_for_selector(tile("cy/c1") + ".offline", timeout=5000)
    assert await text(page, tile("cy/c1") + " .badge") == "OFFLINE"
    opacity = await page.locator(tile("cy/c1")).evaluate("e => getComputedStyle(e).opacity")
    assert float(opacity) < 1

    # ben finishes and syncs: the session is listed once, however often it comes
    finished = snapshot("ben", "b1", status="finished", kind=None, seq=40)
    await publish(
        broker.url("ben"),
        (topic("ben", "b1", "state"), finished, True),
        (topic("ben", "b1", "session"), session("ben", "b1"), False),
        (topic("ben", "b1", "session"), session("ben", "b1"), False),
    )
    await page.wait_for_selector("#sessions li", timeout=5000)
    assert await text(page, tile("ben/b1") + " .badge") == "FINISHED"
    assert await text(page, tile("ben/b1") + " .left") == "done"
    await page.wait_for_timeout(300)  # the duplicate has had its chance to show
    items = await page.locator("#sessions li").all_inner_texts()
    assert len(items) == 1 and items[0].startswith("ben") and "6/6 reps" in items[0], items

    # the group start: confirm, a countdown on the page, a start on the broker
    ready = asyncio.Event()
    listener = asyncio.create_task(_one_start(broker, ready))
    await ready.wait()
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#start")
    await page.wait_for_selector("#countdown:not([hidden])", timeout=5000)
    assert (await text(page, "#countdown")).startswith("Start in ")
    start = await listener
    assert start["v"] == 1 and len(start["id"]) == 32

    shot = tmp_path / "coach.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
