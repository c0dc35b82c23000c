"""`repcue live --mqtt` when things break mid-session, with a virtual device running a
session: the broker killed (SIGKILL) and started again on the same port, and the bridge's
link to the device cut. The coach's subscriber sees every object exactly once and in
order (after dropping by seq the QoS 1 duplicates a reconnect may bring, as docs/live.md
tells subscribers to), and the retained state ends "finished"."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main
from repcue.link.faults import FaultPlan
from repcue.live import mqtt as live_mqtt
from tests.broker import Broker, mosquitto
from tests.e2e.conftest import StartDevice
from tests.e2e.test_e2e_live import _drive, _install, _lines
from tests.e2e.test_e2e_live_mqtt import Subscriber
from tests.e2e.test_e2e_resume import Replug


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path / "broker", {"ana": "ana-secret", "coach": "coach-secret"}) as b:
        yield b


def deduplicated(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a subscriber keeps: the first copy of each object (device events by seq; the
    host's own objects, seq null, by the whole object: a copy sent again is the same)."""
    seen: set[object] = set()
    out = []
    for obj in objs:
        key = obj["seq"] if obj["seq"] is not None else json.dumps(obj, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(obj)
    return out


def test_a_broker_killed_and_restarted_mid_session_loses_nothing(
    start_device: StartDevice,
    broker: Broker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the bridge waits 3 s before reconnecting: the coach is subscribed again by then
    monkeypatch.setattr(live_mqtt, "_RETRY_S", 3.0)
    device = start_device()
    asyncio.run(_install(device.pty_path))
    first = Subscriber(broker, until="offline")
    later: list[Subscriber] = []
    assert broker.process is not None
    process = broker.process

    def kill_and_restart() -> None:
        while len(first.objects("event")) < 15:  # a few of the session's events are through
            time.sleep(0.01)
        process.kill()
        time.sleep(0.5)
        process.start()
        later.append(Subscriber(broker, until="offline"))

    chaos = threading.Thread(target=kill_and_restart, daemon=True)
    chaos.start()
    driver = _drive(device, chunk_ms=2000, pause_s=0.05)
    mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana"]
    code = main(["live", "--device", f"serial:{device.pty_path}", "--json", "--start", *mqtt])
    driver.join(60)
    chaos.join(30)
    assert later, "the broker was not restarted"
    later[0].thread.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = _lines(out)
    assert printed[-1]["event"] == "session_end"  # the view went on through it all
    assert first.lost is not None  # the coach's first connection died with the broker
    assert f"MQTT broker 127.0.0.1:{broker.port} unreachable" in err
    assert f"MQTT: back at 127.0.0.1:{broker.port}" in err
    assert "not published" not in err
    received = first.objects("event") + later[0].objects("event")
    assert deduplicated(received) == printed  # every object once, in order
    dupes = len(received) - len(printed)
    assert dupes >= 0, "an object was lost"
    assert later[0].objects("state")[-1]["status"] == "finished"


def test_a_link_cut_mid_session_publishes_the_gap_and_goes_on(
    start_device: StartDevice,
    broker: Broker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = start_device()
    asyncio.run(_install(device.pty_path))
    port = tmp_path / "port"
    coach = Subscriber(broker, until="offline")
    with Replug(device.pty_path, port, [FaultPlan(cut_after_bytes=900), FaultPlan()]) as cable:
        driver = _drive(device, pause_s=0.02)
        mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana"]
        code = main(["live", "--device", f"serial:{port}", "--json", "--start", *mqtt])
        driver.join(60)
        assert len(cable.proxies) == 2  # the cut happened
    coach.thread.join(30)
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = _lines(out)
    events = coach.objects("event")
    assert events == printed  # the broker stayed: exactly what live printed, no duplicate
    kinds = [o["event"] for o in events]
    cut = kinds.index("gap")
    assert events[cut]["why"] == "link" and kinds[cut + 1] == "attached"
    assert kinds[cut + 2 :].count("step_end") > 0 and kinds[-1] == "session_end"
    states = coach.objects("state")
    assert states[-1]["status"] == "finished"
    assert [p for t, p, _ in coach.messages if t.endswith("/status")] == [b"online", b"offline"]
