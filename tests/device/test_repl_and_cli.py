"""Serial coexistence (the REPL request and the break-in hand the port to the REPL, where
mpremote works) and `repcue sim serve` as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from mpremote.transport_serial import SerialTransport

from repcue.firmware_build.install import request_repl
from repcue_fw.wire.host import opcodes as op
from tests.device.conftest import Start, _alive
from tests.device.proto import RawClient


def _raw_repl_eval(port: str, expression: str) -> object:
    transport = SerialTransport(port, timeout=1)
    try:
        transport.enter_raw_repl(soft_reset=False)  # a soft reset ends the unix port
        value = transport.eval(expression)
        transport.exit_raw_repl()
        return value
    finally:
        transport.close()


def _wait_exit(proc: subprocess.Popen[bytes], timeout_s: float = 10) -> int | None:
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc.poll()


def test_repl_request_hands_the_port_to_mpremote(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    client = RawClient(dev.pty_path)
    try:
        assert client.request(op.OP_REPL) == b""  # answered before the port is handed over
    finally:
        client.close()
    assert _raw_repl_eval(dev.pty_path, "6 * 7") == 42
    assert dev.require_control().wait_for(lambda r: r.get("k") == "release", 5)


def test_break_in_bytes_leave_protocol_mode(start_device: Start) -> None:
    dev = start_device(clock="stepped")
    transport = SerialTransport(dev.pty_path, timeout=1)
    try:
        assert request_repl(transport.serial) is True
    finally:
        transport.close()
    assert _raw_repl_eval(dev.pty_path, "'repl' + 'ok'") == "replok"


def test_a_device_at_the_repl_still_powers_off_when_its_host_vanishes(
    start_device: Start,
) -> None:
    dev = start_device(clock="stepped")
    client = RawClient(dev.pty_path)
    try:
        client.request(op.OP_REPL)
    finally:
        client.close()
    assert _raw_repl_eval(dev.pty_path, "1") == 1
    proc = dev.proc
    assert proc is not None and dev.control is not None
    dev.control.close()
    dev.control = None
    assert _wait_exit(proc) is not None


def test_sim_serve_prints_the_port_serves_it_and_stops_cleanly_on_ctrl_c(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, REPCUE_SIM_REGISTRY=str(tmp_path / "reg"))
    flash = tmp_path / "serve.img"
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "sim", "serve", "--json", "--speed", "10",
         "--flash", str(flash)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        client = RawClient(info["port"])
        try:
            board = client.hello()[-2]
        finally:
            client.close()
        assert board == b"sim"
        assert flash.exists()
        proc.send_signal(signal.SIGINT)
        assert _wait_exit(proc) == 0
        assert not _alive(info["pid"])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_serve_rejects_bad_options_with_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "repcue", "sim", "serve", "--speed", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 3
    assert "--speed must be 1 or more" in proc.stderr
    assert "Traceback" not in proc.stderr
