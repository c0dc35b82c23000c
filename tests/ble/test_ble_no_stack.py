"""No Bluetooth stack at all (no D-Bus, so no BlueZ): bleak's own backend fails deep in
dbus_fast, and the CLI says so in one line with a hint, exit code 3, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.errors import TransportError


@pytest.mark.parametrize(
    "argv",
    [["info"], ["sync", "--device", "ble:auto"], ["upload", "6x800m", "--device", "ble:auto"]],
    ids=["info-by-name", "sync-auto", "upload-auto"],
)
def test_no_bluetooth_stack_is_one_line_with_a_hint(argv: list[str], tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REPCUE_", "DBUS_"))  # no virtual radio, no D-Bus
    }
    env.update(
        REPCUE_DEVICE="ble:nosuchdevice",
        XDG_RUNTIME_DIR=str(tmp_path / "run"),  # no `sim serve --ble` radio at its default
        DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp_path / 'no-dbus'}",
        REPCUE_KEYS=str(tmp_path / "keys.json"),
        REPCUE_KEYRING="off",
        REPCUE_DB=str(tmp_path / "s.db"),
    )
    run = subprocess.run(
        [sys.executable, "-m", "repcue", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == TransportError.exit_code, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ble:"), run.stderr
    assert "no Bluetooth stack: is bluetoothd running?" in lines[0]
    assert not (tmp_path / "s.db").exists()
