"""A flash image the firmware cannot mount (random bytes) fails the start with words that say
so and how to reformat, and is never overwritten without --format; a typo in an image's
folder creates nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.errors import PathError, SimError
from repcue.sim import SimOptions, VirtualDevice


@pytest.fixture
def random_image(tmp_path: Path) -> Path:
    image = tmp_path / "random.img"
    image.write_bytes(os.urandom(256 * 4096))
    return image


def test_sim_serve_on_a_corrupt_image_says_so_and_leaves_it_alone(random_image: Path) -> None:
    before = random_image.read_bytes()
    # a process: a serve that starts as if healthy would run until killed
    serve = subprocess.run(
        [sys.executable, "-m", "repcue", "sim", "serve", "--flash", str(random_image)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert serve.returncode == SimError.exit_code, serve.stderr
    err = serve.stderr
    assert "Traceback" not in err and "REPL" not in err
    assert f"the flash image {random_image} cannot be mounted" in " ".join(err.split())
    assert f"repcue sim serve --flash {random_image} --format" in " ".join(err.split())
    assert random_image.read_bytes() == before


def test_a_host_command_on_a_corrupt_sim_image_says_so(
    random_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = random_image.read_bytes()
    assert main(["info", "--device", f"sim:{random_image}"]) == SimError.exit_code
    err = capsys.readouterr().err
    assert "cannot be mounted" in err and "answers with a MicroPython REPL" not in err
    assert random_image.read_bytes() == before


def test_format_erases_the_image_and_the_device_runs(random_image: Path) -> None:
    before = random_image.read_bytes()
    with VirtualDevice(SimOptions(flash=random_image, format_flash=True, clock="stepped")) as dev:
        assert dev.running
        dev.require_control().now()
    assert random_image.read_bytes() != before  # formatted by the firmware
    with VirtualDevice(SimOptions(flash=random_image, clock="stepped")) as again:
        assert again.running  # the formatted image mounts without --format


def test_an_image_in_a_missing_folder_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "nonexistent" / "dir" / "x.img"
    assert main(["info", "--device", f"sim:{typo}"]) == PathError.exit_code
    assert main(["sim", "serve", "--flash", str(typo)]) == PathError.exit_code
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"the folder {typo.parent} does not exist" in err
    assert not (tmp_path / "nonexistent").exists()
