"""Every subcommand, found from the argparse parser (a new one is covered by itself), run
with hostile arguments: paths that are missing, folders where files are expected, places
nobody may write, garbage numbers and garbage environment variables. None may print a
traceback, and each must exit with a code from the README's table."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from repcue.cli import build_parser
from repcue.errors import PathError
from tests.host.test_exit_codes import readme_table

# A place nobody may write, even root: sysfs refuses new files.
READ_ONLY_PLACE = "/sys/repcue-hostile"
# A server (sim serve) that the arguments do not stop runs until told to.
SERVER_S = 8.0


def leaf_commands() -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    def walk(
        parser: argparse.ArgumentParser, path: list[str]
    ) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
            return
        for name, child in subs[0].choices.items():
            yield from walk(child, [*path, name])

    yield from walk(build_parser(), [])


def _is_path_option(action: argparse.Action) -> bool:
    return action.type is Path or action.metavar in ("FILE", "PATH", "DIR", "SOCKET", "PORT")


def _positionals(parser: argparse.ArgumentParser, hostile: str) -> list[str]:
    values = {"template": "tempo", "session": "last"}
    return [
        values.get(a.dest, hostile)
        for a in parser._actions
        if not a.option_strings and a.nargs != 0
    ]


def _required(parser: argparse.ArgumentParser, hostile: str) -> list[str]:
    out: list[str] = []
    for a in parser._actions:
        if a.option_strings and a.required:
            out += [a.option_strings[0], hostile]
    return out


def cases(tmp: Path, only: str | None = None) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(id, argv, extra environment) for every subcommand (or the one named `only`)."""
    missing = str(tmp / "nonexistent" / "dir" / "x.txt")
    folder = str(tmp / "a-folder")
    garbage_env = {
        "REPCUE_DEVICE": "garbage",
        "REPCUE_DB": "/dev/null/x",
        "REPCUE_KEYS": "/dev/null/x",
        "REPCUE_KEYRING": "garbage",
        "REPCUE_BLE_RADIO": "/dev/null/x",
        "REPCUE_SIM_REGISTRY": "/dev/null/x",
    }
    for path, parser in leaf_commands():
        name = "-".join(path)
        if only is not None and name != only:
            continue
        base = [*path, *_positionals(parser, missing)]
        if name != "demo":  # its store is its own: nothing from the environment; 20 s a run
            yield f"{name}-env", [*base, *_required(parser, missing)], garbage_env
        for hostile, label in (
            (missing, "missing"),
            (folder, "folder"),
            ("/dev/null/x", "under-a-file"),
            (READ_ONLY_PLACE, "read-only"),
        ):
            args = [*path, *_positionals(parser, hostile)]
            required = _required(parser, hostile)
            if label != "missing" and not required and len(args) > len(path):
                yield f"{name}-{label}", args, {}
            for a in parser._actions:
                if not a.option_strings or a.required:
                    continue
                flag = a.option_strings[-1]
                if _is_path_option(a) or flag == "--device":
                    force = ["--force"] if "--force" in parser._option_string_actions else []
                    if flag == "--radio":
                        force.append("--ble")  # the radio's path is only used with --ble
                    argv = [*base, *required, flag, hostile, *force]
                    yield f"{name}-{flag}-{label}", argv, {}
        for a in parser._actions:
            if a.option_strings and a.type in (int, float):
                for bad in ("-1", "nan"):
                    yield (
                        f"{name}-{a.option_strings[-1]}={bad}",
                        [*base, a.option_strings[-1], bad],
                        {},
                    )


def _run(argv: list[str], env: dict[str, str], tmp: Path) -> tuple[int, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REPCUE_")}
    full_env.update(
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_RUNTIME_DIR=str(tmp / "run"),
        DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp / 'no-dbus'}",
        REPCUE_SIM_REGISTRY=str(tmp / "registry"),
        REPCUE_KEYS=str(tmp / "keys.json"),
        REPCUE_KEYRING="off",
    )
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=tmp,
    )
    try:
        _, err = proc.communicate(timeout=SERVER_S if argv[:2] == ["sim", "serve"] else 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # a server the arguments did not stop: a clean stop
        _, err = proc.communicate(timeout=30)
        return 0, err
    return proc.returncode, err


COMMANDS = ["-".join(path) for path, _ in leaf_commands()]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_survives_hostile_arguments(command: str, tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    codes = set(readme_table())
    found: list[str] = []
    ran = 0
    for case_id, argv, env in cases(tmp_path, only=command):
        code, err = _run(argv, env, tmp_path)
        ran += 1
        if "Traceback" in err or code not in codes:
            tail = err.strip().splitlines()[-1:] if err.strip() else ["(no stderr)"]
            found.append(f"{case_id}: exit {code}: {tail[0][:200]}")
    assert ran >= 1
    assert not found, "\n".join(found)
    assert not (tmp_path / "nonexistent").exists()  # no typo became a folder
    assert not (tmp_path / "data").exists()  # nor a store at the default place


def test_the_sweep_covers_every_subcommand(tmp_path: Path) -> None:
    names = set(COMMANDS)
    assert {"plan-new", "history", "show", "sync", "sim-serve", "firmware-install"} <= names
    assert len(names) >= 18
    assert len(list(cases(tmp_path))) > 100


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "new", "tempo", "-o", "/nonexistent/t.txt"],
        ["plan", "new", "tempo", "-o", "a-folder", "--force"],
    ],
)
def test_the_issue_examples(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    code, err = _run(argv, {}, tmp_path)
    assert code == PathError.exit_code and "Traceback" not in err, err
