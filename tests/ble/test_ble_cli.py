"""The BLE commands as a user runs them, each in its own process: `repcue sim serve --ble`
advertises, `repcue pair` over its serial port, `repcue info --device ble:NAME` and
`repcue devices` over the air, `repcue unpair`; and `repcue demo --ble`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repcue.cli import main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        REPCUE_BLE_RADIO=str(tmp_path / "radio.sock"),
        REPCUE_KEYS=str(tmp_path / "keys.json"),
        REPCUE_SIM_REGISTRY=str(tmp_path / "registry"),
        REPCUE_DB=str(tmp_path / "store.db"),
    )


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """`repcue sim serve --ble --json` in another process; yields its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "sim", "serve", "--ble", "--json", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    assert not Path(env["REPCUE_BLE_RADIO"]).exists()  # the radio socket went with it


def repcue(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "repcue", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_serve_ble_pair_then_info_and_devices_from_other_processes(
    served: dict[str, Any], env: dict[str, str]
) -> None:
    name = served["ble_name"]
    assert served["radio"] == env["REPCUE_BLE_RADIO"]
    before = repcue(env, "devices", "--json", "--scan-s", "0.5")
    assert [(d["name"], d["paired"]) for d in before["ble"]] == [(name, False)]
    paired = repcue(env, "pair", "--device", f"serial:{served['port']}", "--json")
    assert paired == {
        "device_id": served["device_id"],
        "name": name,
        "keys": env["REPCUE_KEYS"],
        "key_in": "file",  # REPCUE_KEYRING=off (tests/conftest.py)
    }
    info = repcue(env, "info", "--device", f"ble:{name}", "--json")  # INFO needs the key
    assert info["device_id"] == served["device_id"] and info["name"] == name
    after = repcue(env, "devices", "--json", "--scan-s", "0.5")
    assert [(d["name"], d["paired"]) for d in after["ble"]] == [(name, True)]
    assert after["ble"][0]["rssi"] < 0
    gone = repcue(env, "unpair", "--device", f"serial:{served['port']}", "--json")
    assert gone["had_key"] is True
    assert json.loads(Path(env["REPCUE_KEYS"]).read_text())["devices"] == {}


def test_pair_info_unpair_with_the_key_in_a_keyring(
    served: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    """Each process finds the key in the keyring (keyrings.alt's plaintext file in
    tmp_path, required with REPCUE_KEYRING=on); the index file never holds it."""
    env.update(
        REPCUE_KEYRING="on",
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    keyring_file = tmp_path / "data" / "python_keyring" / "keyring_pass.cfg"
    paired = repcue(env, "pair", "--device", f"serial:{served['port']}", "--json")
    assert paired["key_in"] == "keyring"
    entry = json.loads(Path(env["REPCUE_KEYS"]).read_text())["devices"][served["device_id"]]
    assert entry["key_in"] == "keyring" and "key" not in entry
    assert served["device_id"] in keyring_file.read_text()
    info = repcue(env, "info", "--device", f"ble:{served['ble_name']}", "--json")
    assert info["device_id"] == served["device_id"]  # authenticated with the keyring's key
    no_keyring = dict(env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    refused = subprocess.run(
        [sys.executable, "-m", "repcue", "info", "--device", f"ble:{served['ble_name']}"],
        env=no_keyring,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 13 and "Traceback" not in refused.stderr
    assert f"the key of device {served['device_id']}" in refused.stderr
    assert "pair the device again" in refused.stderr
    repcue(env, "unpair", "--device", f"serial:{served['port']}", "--json")
    assert json.loads(Path(env["REPCUE_KEYS"]).read_text())["devices"] == {}
    assert served["device_id"] not in keyring_file.read_text()


def test_demo_over_ble(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("REPCUE_KEYS", "REPCUE_SIM_REGISTRY"):
        monkeypatch.setenv(key, env[key])
    assert main(["demo", "--ble", "--json", "--speed", "600"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["session"]["reps_done"] >= 1
    assert len(report["steps"]) >= 5
    assert "connected over BLE" in captured.err and "authenticated" in captured.err
    assert not Path(env["REPCUE_KEYS"]).exists()  # the demo's key is not the user's
