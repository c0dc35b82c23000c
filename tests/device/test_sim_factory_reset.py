"""The factory-reset combination on the virtual device: powered up with every button held
(SimOptions(buttons_held_at_boot=True), `repcue sim serve --factory-reset`), the sim board
asks for the reset as a real board does (boards/hw.py), and the firmware forgets the BLE
pairing key and the settings; the sessions and the program on its flash stay."""

from __future__ import annotations

import argparse
from pathlib import Path

from repcue.cli.sim_cmd import _options, register
from repcue.sim import autopilot as pilot
from repcue_fw.wire.host import opcodes as op
from tests.device.conftest import Start, short_program
from tests.device.proto import RawClient

KEY = bytes(range(32))
DEFAULTS = {"cue_strength": 100, "countdown_s": 3, "buttons": bytes([3, 0, 0, 2, 4, 5])}
SWAPPED = bytes([2, 4, 5, 3, 0, 0])


def _config(client: RawClient) -> dict[str, object]:
    body = client.request(op.OP_CONFIG_GET)
    return dict(op.get_config(body, 0, len(body)))


def _unpair(client: RawClient) -> int:
    """UNPAIR: 1 if the device held a key (it holds none afterwards)."""
    body = client.request(op.OP_UNPAIR)
    return int(op.get_flag(body, 0, len(body)))


def test_buttons_held_at_power_up_forget_key_and_settings_but_keep_sessions(
    start_device: Start, tmp_path: Path
) -> None:
    flash = tmp_path / "watch.img"
    dev = start_device(clock="stepped", flash=flash)
    client = RawClient(dev.pty_path)
    try:
        client.request(op.OP_PAIR, op.pair_req(KEY))
        client.request(op.OP_CONFIG_SET, op.config_set_req(op.CFG_ALL, 40, 5, list(SWAPPED)))
        client.upload(short_program())
        client.request(op.OP_START)
        pilot.run_to_finish(dev)
        assert len(client.sessions()) == 1
    finally:
        client.close()
    dev.stop()

    # an ordinary power-up keeps all of it (and the key is put back after the probe)
    normal = start_device(clock="stepped", flash=flash)
    client = RawClient(normal.pty_path)
    try:
        assert _config(client) == {"cue_strength": 40, "countdown_s": 5, "buttons": SWAPPED}
        assert _unpair(client) == 1
        client.request(op.OP_PAIR, op.pair_req(KEY))
    finally:
        client.close()
    normal.stop()

    reset = start_device(clock="stepped", flash=flash, buttons_held_at_boot=True)
    client = RawClient(reset.pty_path)
    try:
        assert _config(client) == DEFAULTS
        assert _unpair(client) == 0  # the pairing key is gone
        assert len(client.sessions()) == 1  # an unsynced run is never thrown away
        client.request(op.OP_START)  # the program is still installed
    finally:
        client.close()
    assert not [r for r in reset.require_control().records if r.get("k") == "log"]


def test_cli_flag_holds_the_buttons() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["sim", "serve", "--factory-reset"])
    options = _options(args)
    assert options.buttons_held_at_boot
    assert options.board_config(Path("f"), Path("c"))["held_at_boot"] is True
    plain = _options(parser.parse_args(["sim", "serve"]))
    assert "held_at_boot" not in plain.board_config(Path("f"), Path("c"))
