"""A cable pulled mid-sync and plugged back in, with the real firmware behind a fault proxy:
the sync reconnects by itself (repcue.sync.resume, and `repcue sync` through main()), every
session ends up stored once and acknowledged, and the report covers the whole run. When
the link keeps dropping, the retries run out with the link's error and exit code."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from repcue.cli import main
from repcue.errors import DisconnectedError
from repcue.link.client import DeviceClient
from repcue.link.faults import FaultPlan, PtyFaultProxy
from repcue.link.resume import ReconnectPolicy
from repcue.store import Store
from repcue.sync import SyncProgress
from repcue.sync.resume import sync_resumable
from repcue_fw.wire.host import frame as wf
from tests.e2e.conftest import TEMPLATE_SESSIONS, StartDevice
from tests.e2e.rig import client, read_flash

CopyImage = Callable[[str], Path]
NOTICE = re.compile(r"link lost( after \d+ sessions, \d+ bytes)?; reconnecting \((\d+)/(\d+)\)")


class Replug:
    """A cable that comes back: the host opens `port` (a symlink), which points at a fault
    proxy on the device's pty. When a proxy cuts the link, a new one takes its place with
    the next plan (the last plan repeats), as a cable plugged in again."""

    def __init__(self, device_path: str, port: Path, plans: list[FaultPlan]) -> None:
        self.device_path = device_path
        self.port = port
        self.plans = plans
        self.proxies: list[PtyFaultProxy] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="replug", daemon=True)

    def __enter__(self) -> Replug:
        self._plug()
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watcher.join(5)
        for proxy in self.proxies:
            proxy.close()

    @property
    def current(self) -> PtyFaultProxy:
        return self.proxies[-1]

    @property
    def bytes_crossed(self) -> int:
        return sum(p.to_device.bytes_in + p.to_host.bytes_in for p in self.proxies)

    def _plug(self) -> None:
        plan = self.plans[min(len(self.proxies), len(self.plans) - 1)]
        proxy = PtyFaultProxy(self.device_path, plan)
        proxy.start()
        self.proxies.append(proxy)
        staged = self.port.with_suffix(".new")
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        staged.symlink_to(proxy.serial_path)
        os.replace(staged, self.port)

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.current.cut_done.wait(0.02) and not self._stop.is_set():
                self._plug()


def open_factory(port: Path) -> Callable[[], DeviceClient]:
    return lambda: client(str(port), max_frame=wf.MIN_FRAME)


async def all_sessions(path: str) -> dict[int, bytes]:
    async with client(path) as dev:
        return {entry.session_id: raw async for entry, raw in dev.read_sessions()}


def stored_raw(store: Store, device_id: str) -> dict[int, bytes]:
    return {s.session_id: store.session_raw(s.row_id) for s in store.sessions(device_id=device_id)}


async def resumable_sync_bytes(start_device: StartDevice, image: Path, tmp_path: Path) -> int:
    """Bytes both ways in a whole, clean resumable sync (where to cut a real one)."""
    device = start_device(image)
    with Replug(device.pty_path, tmp_path / "probe-port", [FaultPlan()]) as cable:
        with Store(tmp_path / "probe.db") as store:
            await sync_resumable(open_factory(cable.port), store)
        return cable.bytes_crossed


# midway: pulled once three sessions are stored; in-ack: four bytes before the end, inside
# the last ACK's answer, so the device has acknowledged and the host never hears it
@pytest.mark.parametrize("cut", ["midway", "in-ack"])
async def test_a_sync_cut_midway_finishes_by_itself_and_reports_the_whole_run(
    start_device: StartDevice, copy_image: CopyImage, tmp_path: Path, cut: str
) -> None:
    first = FaultPlan()
    if cut == "in-ack":
        total = await resumable_sync_bytes(start_device, copy_image("probe.img"), tmp_path)
        first = FaultPlan(cut_after_bytes=total - 4)
    image = copy_image("flash.img")
    device = start_device(image)
    reference = await all_sessions(device.pty_path)
    assert len(reference) == TEMPLATE_SESSIONS
    notices: list[str] = []
    stored_at_cut: list[int] = []
    with (
        Replug(device.pty_path, tmp_path / "port", [first, FaultPlan()]) as cable,
        Store(tmp_path / "s.db") as store,
    ):

        def on_progress(p: SyncProgress) -> None:
            if cut == "midway" and p.sessions_done == 3 and not stored_at_cut:
                stored_at_cut.append(store.session_count(device.device_id))
                cable.current.cut()

        policy = ReconnectPolicy(retries=3, backoff_s=(0.05,), notice=notices.append)
        result = await sync_resumable(
            open_factory(cable.port), store, policy=policy, on_progress=on_progress
        )
        assert len(cable.proxies) >= 2 and cable.proxies[0].cut_done.is_set()
        assert [NOTICE.fullmatch(n) is not None for n in notices] == [True], notices
        if cut == "midway":
            assert stored_at_cut == [3]  # the first link stored three ...
        # ... and the report still covers all of them, each once
        assert sorted(result.added) == sorted(reference)
        assert sorted(result.acked) == sorted(reference)
        assert result.already_stored == () and result.failed == ()
        assert stored_raw(store, device.device_id) == reference
        assert store.unacked_session_ids(device.device_id) == []
    flash = read_flash(image)
    assert set(flash.acked) == set(reference) and not flash.unacked


def repcue_sync(port: Path, db: Path, *args: str) -> int:
    return main(["sync", "--device", f"serial:{port}", "--db", str(db), *args])


def test_repcue_sync_reconnects_by_itself_and_reports_the_whole_run(
    start_device: StartDevice,
    copy_image: CopyImage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = start_device(copy_image("probe.img"))
    with Replug(probe.pty_path, tmp_path / "probe-port", [FaultPlan()]) as cable:
        assert repcue_sync(cable.port, tmp_path / "probe.db", "--json") == 0
        total = cable.bytes_crossed
    capsys.readouterr()
    image = copy_image("flash.img")
    device = start_device(image)
    db = tmp_path / "store.db"
    # pulled inside the last ACK's answer: the first link stored (and the device acked)
    # every session; the second only acknowledges them again
    plans = [FaultPlan(cut_after_bytes=total - 4), FaultPlan()]
    with Replug(device.pty_path, tmp_path / "port", plans) as cable:
        code = repcue_sync(cable.port, db, "--json")
        assert cable.proxies[0].cut_done.is_set()
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    notice = NOTICE.fullmatch(lines[0])
    assert notice is not None and notice.groups()[1:] == ("1", "3"), err
    report = json.loads(out)
    flash = read_flash(image)
    assert len(flash.acked) == TEMPLATE_SESSIONS and not flash.unacked
    # the report is the whole run's: added by the first link, not "already stored"
    assert sorted(report["added"]) == sorted(report["acked"]) == sorted(flash.acked)
    assert report["already_stored"] == [] and len(report["sessions"]) == TEMPLATE_SESSIONS
    with Store(db) as store:
        assert store.session_count(device.device_id) == TEMPLATE_SESSIONS


@pytest.mark.parametrize("retries", [0, 2])
def test_when_the_retries_run_out_the_link_error_and_its_exit_code(
    start_device: StartDevice,
    copy_image: CopyImage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    retries: int,
) -> None:
    device = start_device(copy_image("flash.img"))
    always_cut = [FaultPlan(cut_after_bytes=600)]
    with Replug(device.pty_path, tmp_path / "port", always_cut) as cable:
        code = repcue_sync(cable.port, tmp_path / "s.db", "--retries", str(retries))
        connections = sum(p.to_device.bytes_in > 0 for p in cable.proxies)
    _, err = capsys.readouterr()
    assert code == DisconnectedError.exit_code == 4
    lines = err.strip().splitlines()
    assert [bool(NOTICE.fullmatch(line)) for line in lines[:-1]] == [True] * retries, err
    assert lines[-1].startswith("error: ") and "link lost" in lines[-1], err
    assert connections == retries + 1
