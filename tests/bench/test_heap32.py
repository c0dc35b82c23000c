"""bench/heap.py's 32-bit harness is real: MicroPython's webassembly port (fetched from npm
into the user's cache, its heap growth stopped) runs the firmware's job from wire frames,
completes it with room to spare and runs out of memory in a tiny heap."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench._heap32 import job, port

from repcue.firmware_build import build
from repcue_fw.wire.host import program as wp


def _program(pairs: int) -> bytes:
    nodes: list[wp.Step | wp.Repeat] = []
    for i in range(pairs):
        nodes.append(wp.Step(wp.KIND_WORK, wp.END_DISTANCE, 200, wp.TARGET_PACE, 0, 1800 + i))
        nodes.append(wp.Step(wp.KIND_RECOVERY, wp.END_TIME, 30))
    return wp.encode(wp.Program(nodes, countdown_s=3))


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, job.Form]:
    port.ensure()  # npm pack into the cache on first use: a failure here says what is missing
    work = tmp_path_factory.mktemp("heap32")
    build(work / "bundle")
    return job.forms(work / "bundle", work)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", ["romfs", "mpy"])
def test_the_job_completes_in_a_roomy_heap(forms: dict[str, job.Form], name: str) -> None:
    program = _program(5)
    got = job.job(forms[name], 256, program, screen=False)
    assert got.ran, got.why
    assert got.steps_read == 10  # the session read back over the wire, decoded, complete
    assert got.cues > 10  # the runner task played the session on the stepped clock
    assert 8 * 1024 < got.alloc < 200 * 1024  # what the firmware holds: real, and bounded
    assert got.alloc + got.free <= 256 * 1024  # the heap did not grow past what was given


def test_a_tiny_heap_runs_out_of_memory(forms: dict[str, job.Form]) -> None:
    got = job.job(forms["mpy"], 16, _program(1), screen=False)
    assert not got.ran
    assert "MemoryError" in got.why


def test_the_fixed_wasm_keeps_its_heap() -> None:
    folder = port.ensure()
    fixed = (folder / port.FIXED_WASM).read_bytes()
    original = (folder / "micropython.wasm").read_bytes()
    assert len(fixed) == len(original)
    assert fixed.count(bytes.fromhex("41808080c000")) == 0
    assert original.count(bytes.fromhex("41808080c000")) == 1


def test_no_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    with pytest.raises(port.Wasm32Error, match=r"node is not installed.*apt-get install nodejs"):
        port.ensure()
