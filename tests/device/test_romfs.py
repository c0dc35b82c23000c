"""ROMFS deployment: `repcue firmware build --romfs` writes repcue_fw/ as a ROMFS image that
MicroPython's own `vfs.VfsRom` reads back file for file, and the virtual device boots from
it as a board with a ROMFS partition does (SimOptions(romfs=True), `sim serve --romfs`):
every firmware module imported from /rom, with `heap_kb` of heap beside the image."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from repcue.cli import main as cli_main
from repcue.firmware_build import build, build_image, read_index
from repcue.sim import romfs
from tests.device.conftest import Start
from tests.device.proto import RawClient
from tests.mpy import FIRMWARE, micropython_binary


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fw") / "bundle"
    build(out)
    build_image(out)
    return out


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(romfs.CACHE_ENV, str(tmp_path / "cache"))


def _mpy(code: str, *args: str) -> str:
    proc = subprocess.run(
        [micropython_binary(), *args, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, MICROPYPATH=".frozen"),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# Mounted in micropython: every file under /rom with its SHA-256.
_LIST = """
import hashlib, binascii, os
def walk(d):
    for name, kind, *_ in os.ilistdir(d):
        p = d + "/" + name
        if kind & 0x4000:
            walk(p)
        else:
            with open(p, "rb") as f:
                print(p[5:], binascii.hexlify(hashlib.sha256(f.read()).digest()).decode())
walk("/rom")
"""


def test_image_round_trips_through_micropythons_vfsrom(bundle: Path) -> None:
    out = _mpy(romfs.mount_code(bundle / "romfs.img") + _LIST)
    in_image = dict(line.split() for line in out.splitlines())
    expected = {f.path: f.sha256 for f in read_index(bundle) if f.path.startswith("repcue_fw/")}
    assert in_image == expected
    assert "repcue_fw/boards/sim/__init__.mpy" in in_image and "main.py" not in in_image


def test_heapsize_gives_the_image_exactly_its_blocks(bundle: Path) -> None:
    """-X heapsize = heapsize_bytes(KB, size): after the image's buffer is allocated the
    heap has what -X heapsize=KB alone leaves, to within the buffer's own object header, a
    block of alignment and the pool's granule; a few blocks less would show."""
    size = (bundle / "romfs.img").stat().st_size
    free = "import gc\ngc.collect()\nprint(gc.mem_free())\n"
    take = f"import gc\ngc.collect()\nb = bytearray({size})\ngc.collect()\nprint(gc.mem_free())\n"
    for ram_kb in (64, 96):
        plain = int(_mpy(free, "-X", f"heapsize={ram_kb * 1024}"))
        passed = romfs.heapsize_bytes(ram_kb, size)
        beside = int(_mpy(take, "-X", f"heapsize={passed}"))
        # the pool grows by whole granules of 4 blocks: up to 3 blocks beyond the image's,
        # and one more for the heap's alignment (where malloc put it: seen to move with the
        # size of the environment, e.g. under pytest-xdist)
        granule_slack = 4 * romfs.GC_BLOCK_BYTES
        assert -8 * romfs.GC_BLOCK_BYTES <= beside - plain <= granule_slack, (ram_kb, beside, plain)
        short = int(_mpy(take, "-X", f"heapsize={passed - 2 * 259}"))  # 16 blocks fewer
        assert short - plain < -8 * romfs.GC_BLOCK_BYTES


def test_virtual_device_boots_from_rom_and_answers_hello(bundle: Path, start_device: Start) -> None:
    dev = start_device(clock="stepped", romfs=True, heap_kb=160)
    assert dev.romfs_image is not None and dev.proc is not None
    size = dev.romfs_image.stat().st_size
    argv = [str(a) for a in dev.proc.args]
    assert f"heapsize={romfs.heapsize_bytes(160, size)}" in " ".join(argv)
    client = RawClient(dev.pty_path)
    try:
        info = client.hello()
    finally:
        client.close()
    assert info[-2:] == (b"sim", b"0.1.0")
    free_heap = int(info[4])
    assert 0 < free_heap < 160 * 1024  # the image is not part of the board's RAM
    files = dev.require_control().request("modules")["files"]
    assert {"repcue_fw.app", "repcue_fw.journal", "repcue_fw.boards.sim"} <= set(files)
    assert all(f.startswith("/rom/repcue_fw/") and f.endswith(".mpy") for f in files.values())
    # the same image as `firmware build --romfs` makes from the same sources
    assert dev.romfs_image.read_bytes() == (bundle / "romfs.img").read_bytes()


def test_image_cache_is_keyed_by_the_sources(tmp_path: Path) -> None:
    src = tmp_path / "fw"
    shutil.copytree(FIRMWARE / "repcue_fw", src / "repcue_fw")
    first = romfs.image_for(src)
    stamp = first.stat().st_mtime_ns
    assert romfs.image_for(src) == first and first.stat().st_mtime_ns == stamp  # reused
    cues = src / "repcue_fw" / "cues.py"
    cues.write_text(cues.read_text() + "\nEDITED = 1\n")
    second = romfs.image_for(src)
    assert second != first and second.read_bytes() != first.read_bytes()


def test_cli_build_romfs_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "b"
    assert cli_main(["firmware", "build", "-o", str(out_dir), "--no-sim", "--romfs", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    image = Path(out["romfs"]["path"])
    assert image == out_dir.resolve() / "romfs.img"
    data = image.read_bytes()
    assert out["romfs"]["size"] == len(data) and data[:3] == b"\xd2\xcd\x31"  # ROMFS header
    assert out["romfs"]["sha256"] == hashlib.sha256(data).hexdigest()
    listed = _mpy(romfs.mount_code(image) + "import os\nprint(os.listdir('/rom/repcue_fw/boards'))")
    assert "hw.mpy" in listed and "'sim'" not in listed


def test_cli_sim_serve_romfs_json_reports_the_image(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repcue", "sim", "serve", "--romfs", "--heap", "160", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, **{romfs.CACHE_ENV: str(tmp_path / "cache")}),
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        client = RawClient(info["port"])
        try:
            assert client.hello()[-2:] == (b"sim", b"0.1.0")
        finally:
            client.close()
        assert Path(info["romfs"]).parent == tmp_path / "cache" / "romfs"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
