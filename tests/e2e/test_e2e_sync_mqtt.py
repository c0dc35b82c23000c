"""`repcue sync --mqtt`: each synced session reaches a real Mosquitto on the `session` topic
(QoS 1, `show --json` plus uid and athlete) after the store's commit; a broker that is down
leaves them stored, makes sync say so and exit 17, and the next `sync --mqtt` publishes
them even with nothing new on the device. Wrong passwords and CAs say what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.store import open_store
from tests.broker import Broker, make_tls, mosquitto
from tests.e2e.conftest import TEMPLATE_SESSIONS, StartDevice
from tests.e2e.test_e2e_live_mqtt import Subscriber

CopyImage = Callable[[str], Path]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto(tmp_path / "broker", {"ana": "ana-secret", "coach": "coach-secret"}) as b:
        yield b


def _sessions(coach: Subscriber) -> list[dict[str, object]]:
    return [json.loads(p) for t, p, _ in coach.messages if t.endswith("/session")]


def test_synced_sessions_are_published_after_the_commit_and_none_twice(
    start_device: StartDevice,
    copy_image: CopyImage,
    broker: Broker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = start_device(copy_image("flash.img"))
    db = str(tmp_path / "s.db")
    spec = f"serial:{device.pty_path}"
    coach = Subscriber(broker, until="", count=TEMPLATE_SESSIONS, topic_end="/session")
    mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana"]
    assert main(["sync", "--device", spec, "--db", db, *mqtt]) == 0
    coach.thread.join(30)
    out = capsys.readouterr().out
    assert f"published {TEMPLATE_SESSIONS} sessions to 127.0.0.1:{broker.port} as ana" in out
    got = _sessions(coach)
    assert len(got) == TEMPLATE_SESSIONS
    with open_store(db, read_only=True) as store:
        device_id = store.sessions()[0].device_id
    assert [s["uid"] for s in got] == [f"{device_id}-{i}" for i in range(1, 7)]
    assert all(s["athlete"] == "ana" for s in got)
    assert all(t == f"repcue/v1/ana/{device_id}/session" for t, _, r in coach.messages)
    # the payload is `repcue show --json` of the stored session, as it stands
    capsys.readouterr()
    assert main(["show", f"{device_id}:1", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in got[0].items() if k not in ("uid", "athlete")} == shown
    # acknowledged: a second sync publishes nothing
    assert main(["sync", "--device", spec, "--db", db, *mqtt, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["mqtt"] == {"published": [], "pending": [], "error": None}


def test_a_broker_that_is_down_loses_nothing(
    start_device: StartDevice,
    copy_image: CopyImage,
    broker: Broker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = start_device(copy_image("flash.img"))
    db = str(tmp_path / "s.db")
    spec = f"serial:{device.pty_path}"
    mqtt = ["--mqtt", broker.url("ana"), "--athlete", "ana"]
    assert broker.process is not None
    broker.process.kill()
    code = main(["sync", "--device", spec, "--db", db, *mqtt])
    out, err = capsys.readouterr()
    assert code == 17, err
    assert f"{TEMPLATE_SESSIONS} new sessions" in out  # stored (and acked to the device)
    assert f"127.0.0.1:{broker.port} unreachable" in err
    assert f"{TEMPLATE_SESSIONS} sessions not published (stored here; the next" in err
    with open_store(db, read_only=True) as store:
        assert store.session_count() == TEMPLATE_SESSIONS
        device_id = store.sessions()[0].device_id
        assert store.unacked_session_ids(device_id) == []  # the device may forget them
    broker.process.start()
    coach = Subscriber(broker, until="", count=TEMPLATE_SESSIONS, topic_end="/session")
    assert main(["sync", "--device", spec, "--db", db, *mqtt, "--json"]) == 0
    coach.thread.join(30)
    again = json.loads(capsys.readouterr().out)
    assert again["added"] == []  # nothing new on the device
    assert len(again["mqtt"]["published"]) == TEMPLATE_SESSIONS
    assert [s["uid"] for s in _sessions(coach)] == again["mqtt"]["published"]


def test_a_wrong_password_from_the_environment_says_so(
    start_device: StartDevice,
    copy_image: CopyImage,
    broker: Broker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = start_device(copy_image("flash.img"))
    db = str(tmp_path / "s.db")
    monkeypatch.setenv("REPCUE_MQTT", broker.url("ana", password="wrong"))
    assert main(["sync", "--device", f"serial:{device.pty_path}", "--db", db]) == 2
    assert "--mqtt needs --athlete NAME" in capsys.readouterr().err  # before the device
    code = main(["sync", "--device", f"serial:{device.pty_path}", "--db", db, "--athlete", "ana"])
    out, err = capsys.readouterr()
    assert code == 17
    assert f"{TEMPLATE_SESSIONS} new sessions" in out
    assert f"MQTT broker 127.0.0.1:{broker.port} refused user 'ana': wrong user name or " in err


def test_mqtts_with_the_right_ca_publishes_and_with_another_says_whose_cert(
    start_device: StartDevice,
    copy_image: CopyImage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tls = make_tls(tmp_path / "tls")
    other = make_tls(tmp_path / "other")
    device = start_device(copy_image("flash.img"))
    db = str(tmp_path / "s.db")
    spec = f"serial:{device.pty_path}"
    with mosquitto(tmp_path / "broker", {"ana": "pw", "coach": "pw"}, tls=tls) as broker:
        url = broker.url("ana")
        assert url.startswith("mqtts://")
        mqtt = ["--mqtt", url, "--athlete", "ana", "--mqtt-ca"]
        assert main(["sync", "--device", spec, "--db", db, *mqtt, str(other.ca_file)]) == 17
        err = capsys.readouterr().err
        assert "its TLS certificate is not signed by the CA in" in err and "other" in err
        assert main(["sync", "--device", spec, "--db", db, *mqtt, str(tls.ca_file)]) == 0
        out = capsys.readouterr().out
        assert f"published {TEMPLATE_SESSIONS} sessions to 127.0.0.1:{broker.port}" in out
