"""The REPL break-in as plain mpremote sends it (Thonny and rshell enter the raw REPL the same
way): CR Ctrl-C, then CR Ctrl-A right after. The link used to read both pairs in one chunk
and leave protocol mode with the Ctrl-A swallowed, so `mpremote connect PORT resume exec`
hung until its timeout about half the time on a freshly started device."""

from __future__ import annotations

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from tests.device.conftest import Start

RUNS = 50


def test_mpremote_gets_the_repl_of_a_fresh_device_every_time(start_device: Start) -> None:
    for run in range(RUNS):
        # a fresh device each time: once at the REPL, the app is gone
        dev = start_device(clock="stepped")
        transport = SerialTransport(dev.pty_path, timeout=1)
        try:
            # what `mpremote connect PORT resume exec` does (no soft reset: it ends the unix port)
            transport.enter_raw_repl(soft_reset=False, timeout_overall=3)
            out = transport.exec("print(6*7)")
        except TransportError as err:
            raise AssertionError(f"run {run + 1}: no raw REPL after the break-in: {err}") from None
        finally:
            transport.close()
            dev.stop()
        assert out.strip() == b"42", f"run {run + 1}"
