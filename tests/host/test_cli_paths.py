"""Paths and numbers the user gives the CLI: a store in a read-only folder is read, a typo
in a path creates nothing, `--limit` is checked, and the failures are typed one-liners."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.errors import PathError, StoreError
from repcue.store import Store
from repcue.sync import decode_session_bytes
from tests.host.test_sync_fakes import DEVICE_ID, make_session


def _store_with_sessions(path: Path, count: int, *, schema: int | None = None) -> None:
    store = Store(path) if schema is None else Store(path, migrate_to=schema)
    with store:
        if schema is not None:
            return
        store.upsert_device(DEVICE_ID, name="track-1", board="sim")
        for sid in range(1, count + 1):
            store.add_session(DEVICE_ID, decode_session_bytes(make_session(sid), sid))


@pytest.fixture(autouse=True)
def _private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REPCUE_DB", raising=False)
    monkeypatch.delenv("REPCUE_DEVICE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


# Root passes every permission check: the commands then run without the capabilities
# that let it (so a folder mode 0555 is read-only to them, as to anyone else).
_NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder the test's commands may read and not write."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: nothing is read-only")
    folder = tmp_path / "ro"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)


def _run_read_only(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`repcue argv` with `folder` made read-only to it."""
    folder.chmod(0o555)
    prefix = _NO_OVERRIDE if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "repcue", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_history_and_show_read_a_store_in_a_read_only_folder(read_only_dir: Path) -> None:
    db = read_only_dir / "s.db"
    _store_with_sessions(db, 3)
    before = sorted(p.name for p in read_only_dir.iterdir())
    listed = _run_read_only(read_only_dir, "history", "--db", str(db), "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 3
    shown = _run_read_only(read_only_dir, "show", "last", "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["session"]["session_id"] == 3
    assert sorted(p.name for p in read_only_dir.iterdir()) == before  # nothing written


def test_an_older_store_in_a_read_only_folder_is_a_clear_store_error(
    read_only_dir: Path,
) -> None:
    db = read_only_dir / "old.db"
    _store_with_sessions(db, 0, schema=1)
    result = _run_read_only(read_only_dir, "history", "--db", str(db))
    assert result.returncode == StoreError.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert line.startswith("error: ") and "schema version 1, older" in line, line
    assert "cannot be upgraded where it is" in line and "\n" not in line


def test_history_limit_must_be_one_or_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    _store_with_sessions(db, 5)
    for bad in ("0", "-1", "x"):
        with pytest.raises(SystemExit) as usage:
            main(["history", "--db", str(db), "--limit", bad])
        assert usage.value.code == 2
        assert "expected a whole number of 1 or more" in capsys.readouterr().err
    assert main(["history", "--db", str(db), "--limit", "2", "--json"]) == 0
    assert [r["session_id"] for r in json.loads(capsys.readouterr().out)] == [5, 4]


@pytest.mark.parametrize("argv", [["history"], ["show", "last"]])
def test_reading_a_store_that_is_not_there_creates_nothing(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "nonexistent" / "dir" / "x.db"
    assert main([*argv, "--db", str(typo)]) == PathError.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"error: --db {typo}: no store there") and "Traceback" not in err
    assert not (tmp_path / "nonexistent").exists()
    # the default place: nothing synced yet reads as empty, and nothing is created for it
    assert main(["history"]) == 0
    assert "No sessions stored yet" in capsys.readouterr().out
    assert main(["show", "last"]) == StoreError.exit_code
    assert "no sessions stored in " + str(tmp_path / "xdg-data") in capsys.readouterr().err
    assert not (tmp_path / "xdg-data").exists()


def test_a_store_named_in_a_missing_folder_is_refused_before_the_device_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPCUE_DB", str(tmp_path / "nonexistent" / "x.db"))
    # the device does not exist either: the store's path is what is reported
    assert main(["sync", "--device", "serial:/dev/ttyACM-repcue-none"]) == PathError.exit_code
    err = capsys.readouterr().err
    assert "$REPCUE_DB" in err and "does not exist" in err
    assert not (tmp_path / "nonexistent").exists()


def test_a_failed_sync_leaves_no_empty_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new.db"
    code = main(["sync", "--db", str(db), "--device", "serial:/dev/ttyACM-repcue-none"])
    assert code == 10, capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_demo_db_help_says_the_default_is_a_throw_away_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default: a throw-away store" in help_text
    assert "default: $REPCUE_DB" not in help_text
