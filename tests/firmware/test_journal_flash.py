"""The simulated NOR flash (boards/sim/flash.py) the journal runs on, in real MicroPython."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.mpy import run_mpy

PRELUDE = """
import json
from repcue_fw.boards.sim.flash import SimFlash, mount
def emit(v):
    print(json.dumps(v))
def block(dev, n, size=16, offset=0):
    buf = bytearray(size)
    r = dev.readblocks(n, buf, offset)
    return [r, list(buf)]
"""


def mpy(tmp_path: Path, code: str) -> list[object]:
    image = str(tmp_path / "flash.img")
    out = run_mpy(f"IMG = {image!r}\n" + PRELUDE + code)
    return [json.loads(line) for line in out.splitlines()]


def test_a_new_image_is_erased_flash_of_the_asked_size(tmp_path: Path) -> None:
    (geometry, first), *_ = mpy(
        tmp_path,
        "d = SimFlash(IMG, 512, 8)\nemit([[d.ioctl(4, 0), d.ioctl(5, 0)], block(d, 7)])\n",
    )
    assert geometry == [8, 512]
    assert first == [0, [0xFF] * 16]
    assert (tmp_path / "flash.img").read_bytes() == b"\xff" * 4096


def test_program_only_clears_bits_and_erase_sets_them(tmp_path: Path) -> None:
    (after_two, after_erase, ops, other), *_ = mpy(
        tmp_path,
        "d = SimFlash(IMG, 512, 4)\n"
        "d.writeblocks(1, bytes([0xF0, 0x3C, 0xFF]), 10)\n"
        "d.writeblocks(1, bytes([0x0F, 0xFF, 0x81]), 10)\n"
        "two = block(d, 1, 3, 10)\n"
        "r = d.ioctl(6, 1)\n"
        "emit([two, [r] + block(d, 1, 3, 10), d.ops, block(d, 0, 4)])\n",
    )
    assert after_two == [0, [0x00, 0x3C, 0x81]]
    assert after_erase == [0, 0, [0xFF, 0xFF, 0xFF]]
    assert ops == 3  # two programs and one erase
    assert other == [0, [0xFF] * 4]


def test_the_image_persists_between_processes(tmp_path: Path) -> None:
    mpy(tmp_path, "d = SimFlash(IMG, 512, 4)\nd.writeblocks(2, b'repcue', 100)\nd.close()\n")
    (got,), *_ = mpy(tmp_path, "d = SimFlash(IMG, 512, 99)\nemit([block(d, 2, 6, 100)])\n")
    assert bytes(got[1]) == b"repcue"
    assert (tmp_path / "flash.img").stat().st_size == 4 * 512  # the file decides the size


@pytest.mark.parametrize("torn", [True, False])
def test_after_the_cut_every_call_fails_with_eio_and_changes_nothing(
    tmp_path: Path, torn: bool
) -> None:
    (results, cut, ops), *_ = mpy(
        tmp_path,
        f"d = SimFlash(IMG, 512, 4, cut_at=3, torn={torn})\n"
        "calls = []\n"
        "calls.append(d.writeblocks(0, b'\\x00' * 8, 0))\n"
        "calls.append(d.ioctl(6, 1))\n"
        "calls.append(d.writeblocks(2, b'\\x00' * 64, 0))\n"  # power fails during this one
        "calls.append(d.writeblocks(3, b'\\x00' * 8, 0))\n"
        "calls.append(d.ioctl(6, 0))\n"
        "calls.append(d.readblocks(0, bytearray(4), 0))\n"
        "calls.append(d.ioctl(3, 0))\n"
        "emit([calls, d.cut, d.ops])\n",
    )
    assert results == [0, 0, -5, -5, -5, -5, -5]
    assert cut is True
    assert ops == 3
    image = (tmp_path / "flash.img").read_bytes()
    assert image[:8] == b"\x00" * 8  # before the cut: done
    assert image[3 * 512 :] == b"\xff" * 512  # after the cut: nothing
    block2 = image[2 * 512 : 2 * 512 + 64]
    if not torn:
        assert block2 == b"\xff" * 64
    else:
        # a prefix programmed, at most one byte half programmed, the rest untouched
        done = len(block2) - len(block2.lstrip(b"\x00"))
        rest = block2[done + 1 :]
        assert rest == b"\xff" * len(rest)


def test_torn_writes_differ_by_seed_and_repeat_for_a_seed(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "out = []\n"
        "for seed in (1, 2, 3, 1):\n"
        "    try:\n"
        "        os.remove(IMG)\n"
        "    except OSError:\n"
        "        pass\n"
        "    d = SimFlash(IMG, 512, 2, cut_at=1, seed=seed)\n"
        "    d.writeblocks(0, b'\\x00' * 256, 0)\n"
        "    d.close()\n"
        "    with open(IMG, 'rb') as f:\n"
        "        data = f.read(256)\n"
        "        out.append(len(data) - len(data.lstrip(b'\\x00')))\n"
        "emit(out)\n"
    )
    [lengths] = mpy(tmp_path, code)
    assert lengths[0] == lengths[3]
    assert len(set(lengths[:3])) > 1


def test_mount_formats_a_blank_flash_and_a_half_formatted_one(tmp_path: Path) -> None:
    [[first, _, second]] = mpy(
        tmp_path,
        "import os, vfs\n"
        "d = SimFlash(IMG, 4096, 16, cut_at=2)\n"
        "try:\n"
        "    mount(d, '/flash')\n"
        "    first = 'mounted'\n"
        "except OSError as e:\n"
        "    first = e.args[0]\n"
        "d.close()\n"
        "d = SimFlash(IMG, 4096, 16)\n"
        "mount(d, '/flash')\n"
        "with open('/flash/x', 'w') as f:\n"
        "    f.write('kept')\n"
        "vfs.umount('/flash')\n"
        "d.close()\n"
        "d = SimFlash(IMG, 4096, 16)\n"
        "mount(d, '/flash')\n"
        "emit([first, 0, open('/flash/x').read()])\n",
    )
    assert first == 5  # the format was cut short: EIO
    assert second == "kept"


def test_mount_refuses_to_wipe_a_flash_with_data_that_does_not_mount(tmp_path: Path) -> None:
    image = tmp_path / "flash.img"
    junk = bytearray(b"\xff" * (16 * 4096))
    junk[0:64] = bytes(range(64))  # no superblock
    junk[5 * 4096 : 5 * 4096 + 6] = b"data!!"  # but something was stored
    image.write_bytes(bytes(junk))
    (error,), *_ = mpy(
        tmp_path,
        "d = SimFlash(IMG, 4096)\n"
        "try:\n"
        "    mount(d, '/flash')\n"
        "    emit(['mounted'])\n"
        "except OSError as e:\n"
        "    emit([e.args[0]])\n",
    )
    assert error != "mounted"
    assert image.read_bytes() == bytes(junk)  # not formatted


def test_an_image_that_is_not_whole_blocks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flash.img").write_bytes(b"\xff" * 1000)
    (message,), *_ = mpy(
        tmp_path,
        "try:\n    SimFlash(IMG, 512)\nexcept ValueError as e:\n    emit([str(e)])\n",
    )
    assert "1000" in message
