"""The README's exit-code table and the error classes are one truth: each row's classes
carry its code, every class's code has a row, and the codes the CLI can be made to give
here are provoked for real through main()."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import re
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from repcue import errors
from repcue.cli import device_cmd, main
from repcue.devices import open_device
from repcue.errors import DisconnectedError, RepcueError
from repcue.link.client import DeviceClient
from repcue.link.resume import ReconnectPolicy, with_reconnect
from repcue.link.serial import SerialTransport

README = Path(__file__).resolve().parents[2] / "README.md"
_ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*)\|(.*)\|\s*$")

# Codes provoked elsewhere with the real part they need (a busy port, a REPL, another
# protocol version, a BLE refusal, ...): here only their class is checked against the row.
ELSEWHERE = {
    1: "a sync leaving an unreadable session: tests/host/test_sync.py",
    6: "a device error status: tests/host/test_link_client.py",
    8: "tests/host/test_cli_errors.py (a firmware speaking version 2)",
    9: "tests/host/test_cli_errors.py (a bare MicroPython REPL)",
    11: "tests/host/test_cli_errors.py (a port held exclusively)",
    12: "tests/ble (an unpaired device, an impostor)",
    13: "tests/ble/test_ble_keys.py (a key file readable by others)",
    14: "tests/host firmware build tests (mpy-cross failing)",
    15: "repcue stop on an idle virtual device: tests/e2e/test_e2e_cli.py",
    17: "sync --mqtt: a broker down, a wrong password or CA: tests/e2e/test_e2e_sync_mqtt.py",
    18: "charts with matplotlib hidden: tests/host/test_reports_charts.py",
    130: "Ctrl-C",
}


def readme_table() -> dict[int, list[str]]:
    """{code: [error class names]} from the README's exit-code table."""
    text = README.read_text(encoding="utf-8")
    head = text.index("| code | meaning | error |")
    rows: dict[int, list[str]] = {}
    for line in text[head:].splitlines()[2:]:
        match = _ROW.match(line)
        if match is None:
            break
        rows[int(match[1])] = re.findall(r"`(\w+)`", match[3])
    return rows


def error_classes() -> list[type[RepcueError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, RepcueError) and cls.__module__ == errors.__name__
    ]


def test_the_table_and_the_error_classes_agree() -> None:
    table = readme_table()
    assert 0 in table and 130 in table and len(table) >= 16
    for code, names in table.items():
        for name in names:
            cls = getattr(errors, name)
            assert cls.exit_code == code, f"README: {name} exits {code}, not {cls.exit_code}"
    named = {name for names in table.values() for name in names}
    for cls in error_classes():
        assert cls.exit_code in table, f"{cls.__name__} exits {cls.exit_code}: not in README"
        parent = cls.__mro__[1]
        if cls is RepcueError or cls.exit_code != getattr(parent, "exit_code", None):
            # a class that brings its own code is the one the row names
            assert cls.__name__ in named, f"{cls.__name__} ({cls.exit_code}) is not in README"


_OPEN_FDS: list[int] = []


@pytest.fixture(autouse=True)
def _private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    quick = functools.partial(open_device, timeout_s=0.2, retries=1)
    monkeypatch.setattr(device_cmd, "open_device", quick)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("REPCUE_DB", raising=False)
    monkeypatch.delenv("REPCUE_DEVICE", raising=False)
    yield
    while _OPEN_FDS:
        os.close(_OPEN_FDS.pop())


def _silent_port() -> str:
    """A raw pseudo-terminal nobody answers on (closed after the test)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    _OPEN_FDS.extend((master, slave))
    return os.ttyname(slave)


PROVOKE = {
    2: lambda tmp: ["plan", "check", "6x800m @5k w/ 90s jgo"],
    3: lambda tmp: ["info", "--device", "usb:foo"],
    5: lambda tmp: ["info", "--device", _silent_port()],
    7: lambda tmp: ["history", "--db", str(_garbage(tmp / "garbage.db"))],
    10: lambda tmp: ["info", "--device", "serial:/dev/ttyACM-repcue-none"],
    16: lambda tmp: ["plan", "new", "tempo", "-o", str(tmp / "nonexistent" / "t.txt")],
}


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not SQLite " * 100)
    return path


@pytest.mark.parametrize("code", sorted(PROVOKE))
def test_each_code_provoked_for_real(
    code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert code in readme_table()
    assert main(PROVOKE[code](tmp_path)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) >= 1


def test_when_the_retries_run_out_reconnecting_it_is_the_links_loss(tmp_path: Path) -> None:
    """A cable pulled: the port is gone, so each reconnect finds no port. The command
    fails with the loss (4, the README's word), not with "no such port" (10)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    port = tmp_path / "ttyACM0"
    port.symlink_to(os.ttyname(slave))
    opened = []

    def factory() -> DeviceClient:
        opened.append(True)
        return DeviceClient(SerialTransport(str(port)), timeout_s=0.2, retries=0)

    async def operation(client: DeviceClient) -> None:
        port.unlink()  # the cable is pulled while the operation runs
        raise DisconnectedError("link lost")

    policy = ReconnectPolicy(retries=2, backoff_s=(0.0,))
    with pytest.raises(DisconnectedError) as lost:
        asyncio.run(with_reconnect(factory, operation, policy=policy))
    os.close(master)
    os.close(slave)
    assert lost.value.exit_code == 4 and len(opened) == 3
    assert "reconnecting failed 2 times" in str(lost.value) and "does not exist" in str(lost.value)


def test_every_other_code_in_the_table_is_provoked_elsewhere() -> None:
    untested = set(readme_table()) - set(PROVOKE) - set(ELSEWHERE) - {0, 4}
    assert not untested, f"README codes with no test: {sorted(untested)}"
