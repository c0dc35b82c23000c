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
    assert paired == {"device_id": served["device_id"], "name": name, "keys": env["REPCUE_KEYS"]}
    info = repcue(env, "info", "--device", f"ble:{name}", "--json")  # INFO needs the key
    assert info["device_id"] == served["device_id"] and info["name"] == name
    after = repcue(env, "devices", "--json", "--scan-s", "0.5")
    assert [(d["name"], d["paired"]) for d in after["ble"]] == [(name, True)]
    assert after["ble"][0]["rssi"] < 0
    gone = repcue(env, "unpair", "--device", f"serial:{served['port']}", "--json")
    assert gone["had_key"] is True
    assert json.loads(Path(env["REPCUE_KEYS"]).read_text())["devices"] == {}


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
