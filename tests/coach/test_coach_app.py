"""`repcue coach --mqtt URL` through a real uvicorn and a real Mosquitto: publishers stand in
for the athletes' bridges (retained states, statuses, sessions); the API and the SSE stream
are read with httpx; the group start goes to the broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from repcue.cli import main
from repcue.live.mqtt import BrokerUrl
from tests.broker import Broker, mosquitto
from tests.coach.helpers import publish, run_coach, session, snapshot, topic


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    users = {"ana": "ana-pw", "ben": "ben-pw", "coach": "coach-pw"}
    with mosquitto(tmp_path / "broker", users) as b:
        yield b


class Stream:
    """The page's SSE stream, read as events (name, data)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines: AsyncIterator[str] = response.aiter_lines()

    async def next(self, timeout_s: float = 10.0) -> tuple[str, dict[str, Any]]:
        name, data = "", ""
        async with asyncio.timeout(timeout_s):
            async for line in self.lines:
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and name:
                    return name, json.loads(data)
        raise AssertionError("the stream ended")

    async def until(self, kind: str, check: Any) -> dict[str, Any]:
        while True:
            name, data = await self.next()
            if name == kind and check(data):
                return data


async def test_a_late_page_sees_everyone_at_once_then_every_change(broker: Broker) -> None:
    # the bridges were there before the coach: their retained states and statuses wait
    await publish(
        broker.url("ana"),
        (topic("ana", "a1", "status"), b"online", True),
        (topic("ana", "a1", "state"), snapshot("ana", "a1", rep=2), True),
    )
    await publish(
        broker.url("ben"),
        (topic("ben", "b1", "status"), b"online", True),
        (topic("ben", "b1", "state"), snapshot("ben", "b1", kind="recovery", rep=1), True),
    )
    with run_coach("--mqtt", broker.url("coach")) as coach:
        async with httpx.AsyncClient(base_url=coach.base, timeout=10) as http:
            for _ in range(100):  # the feed subscribes just after the page listens
                tiles = (await http.get("/api/athletes")).json()
                if len(tiles) == 2:
                    break
                await asyncio.sleep(0.05)
            assert [(t["athlete"], t["step"]["kind"], t["online"]) for t in tiles] == [
                ("ana", "work", True),
                ("ben", "recovery", True),
            ]
            async with http.stream("GET", "/api/stream") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                stream = Stream(response)
                name, hello = await stream.next()
                assert name == "hello" and abs(hello["server_ms"] - time.time() * 1000) < 60_000
                first = [await stream.next(), await stream.next()]
                assert [(n, d["athlete"]) for n, d in first] == [("state", "ana"), ("state", "ben")]

                last = {"rep": 2, "actual_ms": 174_400, "target_ms": 172_800, "diff_ms": 1600}
                await publish(
                    broker.url("ana"),
                    (
                        topic("ana", "a1", "state"),
                        snapshot("ana", "a1", rep=3, last_rep=last),
                        True,
                    ),
                )
                tile = await stream.until("state", lambda d: d["athlete"] == "ana")
                assert tile["step"]["rep"] == 3 and tile["last_rep"]["diff_ms"] == 1600
                assert tile["online"] is True

                await publish(broker.url("ben"), (topic("ben", "b1", "status"), b"offline", True))
                tile = await stream.until("state", lambda d: d["athlete"] == "ben")
                assert tile["online"] is False and tile["step"]["kind"] == "recovery"

                done = session("ana", "a1")
                for _ in range(2):  # a sync that publishes again: once on the page
                    await publish(broker.url("ana"), (topic("ana", "a1", "session"), done, False))
                got = await stream.until("session", lambda d: True)
                assert got["uid"] == "a1-3" and got["athlete"] == "ana"
            sessions = (await http.get("/api/sessions")).json()
            assert [s["uid"] for s in sessions] == ["a1-3"]
            tiles = (await http.get("/api/athletes")).json()
            assert [(t["athlete"], t["online"]) for t in tiles] == [("ana", True), ("ben", False)]
            page = await http.get("/")
            assert page.status_code == 200 and "coach.js" in page.text
            assert (
                (await http.get("/coach.js")).headers["content-type"].startswith("text/javascript")
            )


async def _group_starts(broker: Broker, count: int, started: asyncio.Event) -> list[Any]:
    url = BrokerUrl.parse(broker.url("ana"))
    got: list[Any] = []
    async with aiomqtt.Client(
        url.host, url.port, username=url.username, password=url.password
    ) as client:
        await client.subscribe("repcue/v1/_group/start", qos=1)
        started.set()
        async with asyncio.timeout(20):
            async for message in client.messages:
                got.append((json.loads(bytes(message.payload)), message.retain))  # type: ignore[arg-type]
                if len(got) == count:
                    return got
    return got


async def test_the_page_s_group_start_publishes_a_start_a_few_seconds_ahead(
    broker: Broker,
) -> None:
    started = asyncio.Event()
    listener = asyncio.create_task(_group_starts(broker, 1, started))
    await started.wait()
    with run_coach("--mqtt", broker.url("coach")) as coach:
        async with httpx.AsyncClient(base_url=coach.base, timeout=10) as http:
            for _ in range(100):
                asked_ms = time.time_ns() // 1_000_000
                answer = await http.post("/api/start", json={"in_s": 5})
                if answer.status_code != 503:  # 503 until the feed has connected
                    break
                await asyncio.sleep(0.05)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            bad = await http.post("/api/start", json={"in_s": 0})
            assert bad.status_code == 400 and "in_s" in bad.json()["error"]
            assert (await http.post("/api/start", content=b"{oops")).status_code == 400
    ((message, retained),) = await listener
    assert message == {"v": 1, "id": body["id"], "at_ms": body["at_ms"]}
    assert retained is False  # a late bridge must not start a group that has gone
    assert 4_000 <= body["at_ms"] - asked_ms <= 6_000


async def test_coach_start_publishes_from_the_command_line(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    started = asyncio.Event()
    listener = asyncio.create_task(_group_starts(broker, 1, started))
    await started.wait()
    code = await asyncio.to_thread(
        main, ["coach", "start", "--in-s", "3", "--mqtt", broker.url("coach")]
    )
    assert code == 0
    ((message, _),) = await listener
    out = capsys.readouterr().out
    at = datetime.fromtimestamp(message["at_ms"] / 1000).strftime("%H:%M:%S.%f")[:-3]
    assert f"group start {message['id'][:8]}: every device starts at {at} (in 3 s)" in out


def test_coach_start_says_what_is_wrong(
    broker: Broker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPCUE_MQTT", raising=False)
    assert main(["coach", "start"]) == 1
    assert "needs --mqtt URL" in capsys.readouterr().err
    wrong = f"mqtt://coach:wrong@127.0.0.1:{broker.port}"
    assert main(["coach", "start", "--mqtt", wrong]) == 1
    assert "group start not sent" in capsys.readouterr().err


def test_beyond_localhost_a_password_is_generated_and_asked(broker: Broker) -> None:
    with run_coach("--mqtt", broker.url("coach"), "--listen", "0.0.0.0") as coach:
        text = "\n".join(coach.printed)
        assert "(generated; give --password to choose)" in text
        password = next(
            line.split()[1] for line in coach.printed if line.strip().startswith("password:")
        )
        assert len(password) >= 16 and f"?token={password}" in coach.printed[0]
        with httpx.Client(base_url=coach.base, timeout=10) as http:
            refused = http.get("/api/athletes")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic")
            assert http.get("/api/athletes", auth=("coach", "wrong")).status_code == 401
            assert http.post("/api/start", json={"in_s": 5}).status_code == 401
            assert http.get("/api/athletes", auth=("any", password)).status_code == 200
            # the printed URL: the token becomes a cookie and leaves the address bar
            opened = http.get(f"/?token={password}")
            assert opened.status_code == 303 and opened.headers["location"] == "/"
            assert http.get("/").status_code == 200  # the cookie, nothing else
            with http.stream("GET", "/api/stream") as stream:  # the cookie opens the stream
                assert stream.status_code == 200
                assert next(stream.iter_lines()) == "event: hello"


def test_a_chosen_password_guards_even_localhost(broker: Broker) -> None:
    with run_coach("--mqtt", broker.url("coach"), "--password", "track-day") as coach:
        assert "  password: track-day" in coach.printed
        assert "generated" not in "\n".join(coach.printed)
        with httpx.Client(base_url=coach.base, timeout=10) as http:
            assert http.get("/").status_code == 401
            assert http.get("/", auth=("coach", "track-day")).status_code == 200


async def test_the_page_goes_on_after_the_broker_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {"ana": "ana-pw", "coach": "coach-pw"}
    with contextlib.ExitStack() as first_broker:
        first = first_broker.enter_context(mosquitto(tmp_path / "first", users))
        await publish(
            first.url("ana"), (topic("ana", "a1", "state"), snapshot("ana", "a1", rep=1), True)
        )
        with run_coach("--mqtt", first.url("coach")) as coach:
            async with (
                httpx.AsyncClient(base_url=coach.base, timeout=10) as http,
                http.stream("GET", "/api/stream") as response,
            ):
                stream = Stream(response)
                tile = await stream.until("state", lambda d: d["athlete"] == "ana")
                assert tile["step"]["rep"] == 1
                # the broker dies (its retained states with it) and comes back on its port
                first_broker.close()
                monkeypatch.setattr("tests.broker._free_port", lambda: first.port)
                with mosquitto(tmp_path / "again", users) as again:
                    assert again.port == first.port
                    # the bridge publishes its next state; the page reconnected by itself
                    second = snapshot("ana", "a1", rep=2)
                    await publish(again.url("ana"), (topic("ana", "a1", "state"), second, True))
                    tile = await stream.until("state", lambda d: d["step"]["rep"] == 2)
                    assert tile["athlete"] == "ana" and tile["online"] is True


async def test_ctrl_c_ends_the_open_pages_streams_and_says_nothing_of_it(broker: Broker) -> None:
    with run_coach("--mqtt", broker.url("coach")) as coach:
        async with (
            httpx.AsyncClient(timeout=10) as http,
            http.stream("GET", f"{coach.base}/api/stream") as response,
        ):
            stream = Stream(response)
            assert (await stream.next())[0] == "hello"
            coach.proc.send_signal(signal.SIGINT)
            with pytest.raises(AssertionError, match="the stream ended"):
                await stream.next()  # the server ended it, not a timeout
        assert await asyncio.to_thread(coach.proc.wait, 10) == 0
        assert coach.proc.stdout is not None
        rest = await asyncio.to_thread(coach.proc.stdout.read)
    assert "ERROR" not in rest and "Cancel" not in rest, rest
