"""`repcue coach` with no --mqtt: the laptop is the hub. A private Mosquitto with a password
per athlete and the ACL of docs/live.md (an athlete writes only under its own name), the
URLs printed for the bridges, TLS for the page and the broker with --cert/--key."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from repcue.cli import main
from repcue.coach import hub as hub_module
from repcue.coach.acl import allowed
from repcue.coach.feed import CoachError
from repcue.live.mqtt import BrokerUrl
from tests.coach.helpers import free_port, run_coach, snapshot, topic


def _bridge_urls(printed: list[str]) -> dict[str, str]:
    """athlete -> the broker URL of its printed `repcue live --mqtt URL ... --athlete NAME`."""
    urls = {}
    for line in printed:
        words = line.split()
        if words[:3] == ["repcue", "live", "--mqtt"]:
            urls[words[-1]] = words[3]
    return urls


def _coach_url(printed: list[str]) -> str:
    (line,) = [line for line in printed if "repcue coach start --mqtt" in line]
    return line.split("--mqtt ")[1].split()[0]


def _client(url: str, ca: Path | None = None) -> aiomqtt.Client:
    b = BrokerUrl.parse(url)
    tls = aiomqtt.TLSParameters(ca_certs=str(ca)) if ca else None
    return aiomqtt.Client(b.host, b.port, username=b.username, password=b.password, tls_params=tls)


async def _athletes(base: str, want: int, **http: Any) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base, timeout=10, **http) as client:
        for _ in range(200):
            tiles: list[dict[str, Any]] = (await client.get("/api/athletes")).json()
            if len(tiles) >= want:
                return tiles
            await asyncio.sleep(0.05)
    raise AssertionError(f"{want} tiles never came: {tiles}")


HUBS = pytest.mark.parametrize("hub", ["mosquitto", "amqtt"])


@HUBS
async def test_the_hub_lets_each_athlete_write_only_under_its_own_name(hub: str) -> None:
    args = ["--hub", hub, "--broker-port", str(free_port()), "--athlete", "ana", "--athlete", "ben"]
    with run_coach(*args) as coach:
        urls = _bridge_urls(coach.printed)
        assert sorted(urls) == ["ana", "ben"]
        assert urls["ana"] != urls["ben"]  # a password each
        async with _client(urls["ana"]) as ana:
            # ana pretending to be ben: the broker drops it (Mosquitto acks QoS 1 regardless)
            await ana.publish(topic("ben", "b1", "state"), json.dumps(snapshot("ben", "b1")), qos=1)
            await ana.publish(
                topic("ana", "a1", "state"), json.dumps(snapshot("ana", "a1")), qos=1, retain=True
            )
        tiles = await _athletes(coach.base, 1)
        # the forgery went first on the same connection: had it passed, it would be here
        assert [t["athlete"] for t in tiles] == ["ana"]
        async with _client(urls["ben"]) as ben:
            await ben.publish(
                topic("ben", "b1", "state"), json.dumps(snapshot("ben", "b1", rep=4)), qos=1
            )
        tiles = await _athletes(coach.base, 2)
        # ben's tile is ben's own state (rep 4), never the one ana forged (rep 1)
        assert [(t["athlete"], t["step"]["rep"]) for t in tiles] == [("ana", 1), ("ben", 4)]

        # the coach's printed URL starts the group; an athlete reads it, cannot send one
        async with _client(urls["ana"]) as ana:
            await ana.subscribe("repcue/v1/_group/start", qos=1)
            await ana.publish("repcue/v1/_group/start", b'{"v": 1, "forged": true}', qos=1)
            code = await asyncio.to_thread(
                main, ["coach", "start", "--in-s", "2", "--mqtt", _coach_url(coach.printed)]
            )
            assert code == 0
            async with asyncio.timeout(10):
                async for message in ana.messages:
                    start = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    break
            assert set(start) == {"v", "id", "at_ms"}  # the coach's, not ana's forgery


@HUBS
def test_a_wrong_password_is_refused_by_the_hub(hub: str) -> None:
    with run_coach("--hub", hub, "--broker-port", str(free_port()), "--athlete", "ana") as coach:
        assert f"private broker ({hub}" in "\n".join(coach.printed)
        url = _bridge_urls(coach.printed)["ana"]
        wrong = url.replace(url.split(":")[2].split("@")[0], "wrong")
        assert wrong != url

        async def connect() -> None:
            async with _client(wrong):
                pass

        with pytest.raises(aiomqtt.MqttError):
            asyncio.run(connect())


def test_the_hub_without_athletes_says_how_to_let_them_in() -> None:
    with run_coach("--broker-port", str(free_port())) as coach:
        assert any("name them with --athlete NAME" in line for line in coach.printed)


def test_an_athlete_name_the_acl_would_misread_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["coach", "--athlete", "_group"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "athlete '_group'" in err and "'_'" in err


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "repcue coach test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@HUBS
async def test_with_a_certificate_the_page_and_the_broker_speak_tls(
    hub: str, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    args = ["--hub", hub, "--broker-port", str(free_port()), "--athlete", "ana"]
    with run_coach(*args, "--cert", str(cert), "--key", str(key)) as coach:
        assert coach.printed[0].startswith("coach's page: https://")
        (bridge,) = [line for line in coach.printed if "repcue live" in line]
        assert "mqtts://ana:" in bridge and f"--mqtt-ca {cert}" in bridge
        url = _bridge_urls(coach.printed)["ana"]
        async with _client(url, ca=cert) as ana:
            await ana.publish(
                topic("ana", "a1", "state"), json.dumps(snapshot("ana", "a1")), qos=1, retain=True
            )
        verify = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{coach.port}"
        tiles = await _athletes(base, 1, verify=verify)
        assert tiles[0]["athlete"] == "ana"
        # plain MQTT and plain HTTP find nobody there
        with pytest.raises(aiomqtt.MqttError):
            async with _client(url.replace("mqtts://", "mqtt://")):
                pass
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.HTTPError):
                await http.get(f"http://127.0.0.1:{coach.port}/api/athletes")


def test_with_neither_broker_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "mosquitto_binary", lambda: None)
    monkeypatch.setattr(hub_module, "_amqtt_installed", lambda: False)
    with (
        pytest.raises(CoachError, match=r"apt-get install mosquitto.*pip install 'repcue\[hub\]'"),
        hub_module.private_hub("auto", "127.0.0.1", free_port(), {"coach": "pw"}),
    ):
        pass
    with (
        pytest.raises(CoachError, match="no mosquitto here"),
        hub_module.private_hub("mosquitto", "127.0.0.1", free_port(), {"coach": "pw"}),
    ):
        pass


@pytest.mark.parametrize(
    ("user", "name", "action", "ok"),
    [
        ("ana", "repcue/v1/ana/a1/state", "publish", True),
        ("ana", "repcue/v1/ben/a1/state", "publish", False),
        ("ana", "repcue/v1/_group/start", "publish", False),
        ("ana", "repcue/v1/_group/start", "subscribe", True),
        ("ana", "repcue/v1/_group/start", "receive", True),
        ("ana", "repcue/v1/#", "subscribe", False),
        ("ana", "repcue/v1/ben/b1/state", "receive", False),
        ("coach", "repcue/v1/_group/start", "publish", True),
        ("coach", "repcue/v1/ana/a1/state", "publish", False),
        ("coach", "repcue/v1/+/+/state", "subscribe", True),
        ("coach", "repcue/v1/ana/a1/state", "receive", True),
        ("coach", "other/topic", "subscribe", False),
        (None, "repcue/v1/ana/a1/state", "publish", False),
        ("_group", "repcue/v1/_group/start", "publish", False),
    ],
)
def test_the_acl(user: str | None, name: str, action: str, ok: bool) -> None:
    assert allowed(user, name, action) is ok


@pytest.mark.parametrize("which", ["--port", "--broker-port"])
def test_a_port_in_use_is_said_before_anything_starts(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "--broker-port" if which == "--port" else "--port"
        code = main(["coach", which, str(port), other, str(free_port()), "--athlete", "ana"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""  # no URL printed for a page or broker that is not there
    what = "the page" if which == "--port" else "the private broker"
    assert f"error: {what} cannot listen on 127.0.0.1:{port}" in err and f"({which} N)" in err


async def test_a_chosen_password_with_url_characters_still_makes_working_urls() -> None:
    password = "track@day:1/2?&"
    args = ["--broker-port", str(free_port()), "--password", password, "--athlete", "ana"]
    with run_coach(*args) as coach:
        page = coach.printed[0].split()[-1]
        async with httpx.AsyncClient(timeout=10) as http:
            opened = await http.get(page)  # the printed URL, as a phone opens it
            assert opened.status_code == 303
            assert (await http.get(f"{coach.base}/api/athletes")).status_code == 200
        assert BrokerUrl.parse(_coach_url(coach.printed)).password == password
        code = await asyncio.to_thread(
            main, ["coach", "start", "--mqtt", _coach_url(coach.printed)]
        )
        assert code == 0
