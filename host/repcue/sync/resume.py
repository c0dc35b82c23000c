"""A sync that reconnects by itself: repcue.sync.sync again over a fresh link after a drop,
and one report for the whole run.

Running sync again is the resume: it is exactly-once by design (commit, then ACK; the
store's cursor), so a second attempt stores only what the first did not and ACKs what the
first stored but could not acknowledge. An attempt that fails takes its SyncResult with it,
so the report is rebuilt from the store: what this run added and acknowledged is what the
store holds now for the device and did not hold (acknowledged) before the first attempt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from repcue.link.client import DeviceClient
from repcue.link.resume import ClientSource, ReconnectPolicy, with_reconnect
from repcue.store import Store
from repcue.sync import ProgressCallback, SyncProgress, SyncResult, sync


class _Tally:
    """What the attempts have done so far: the store before the first, bytes read."""

    def __init__(self, store: Store, on_progress: ProgressCallback | None) -> None:
        self.store = store
        self.on_progress = on_progress
        self.before: dict[int, bool] | None = None  # session id -> acked, at the start
        self.bytes_earlier = 0  # read by attempts that ended in a drop
        self.bytes_now = 0  # read by the current attempt so far
        self.sessions_earlier = 0
        self.sessions_now = 0

    def snapshot(self, device_id: str) -> None:
        if self.before is None:
            self.before = _acked_by_id(self.store, device_id)

    def progress(self, p: SyncProgress) -> None:
        self.bytes_now, self.sessions_now = p.bytes_done, p.sessions_done
        if self.on_progress is not None:
            # the bar goes on from where the dropped attempts left it
            self.on_progress(
                dataclasses.replace(
                    p,
                    bytes_done=p.bytes_done + self.bytes_earlier,
                    bytes_total=p.bytes_total + self.bytes_earlier,
                )
            )

    def dropped(self) -> str:
        """Close the current attempt's tally; the notice's 'where'."""
        self.bytes_earlier += self.bytes_now
        self.sessions_earlier += self.sessions_now
        self.bytes_now = self.sessions_now = 0
        if not self.bytes_earlier:
            return ""
        return f" after {self.sessions_earlier} sessions, {self.bytes_earlier} bytes"


def _acked_by_id(store: Store, device_id: str) -> dict[int, bool]:
    return {s.session_id: s.acked for s in store.sessions(device_id=device_id)}


def merge_result(
    last: SyncResult, store: Store, before: Mapping[int, bool], bytes_read: int
) -> SyncResult:
    """The whole run's result: the last attempt's view of the device (what is still
    recording or left behind), the store's record of what changed since `before`."""
    now = sorted(store.sessions(device_id=last.device_id), key=lambda s: s.session_id)
    added = [s for s in now if s.session_id not in before]
    added_ids = {s.session_id for s in added}
    return dataclasses.replace(
        last,
        added=tuple(s.session_id for s in added),
        added_rows=tuple(s.row_id for s in added),
        already_stored=tuple(sid for sid in last.already_stored if sid not in added_ids),
        acked=tuple(s.session_id for s in now if s.acked and not before.get(s.session_id)),
        bytes_read=bytes_read,
    )


async def sync_resumable(
    open_client: ClientSource,
    store: Store,
    *,
    policy: ReconnectPolicy | None = None,
    on_progress: ProgressCallback | None = None,
) -> SyncResult:
    """sync() over a client from open_client, reconnecting after each link loss as the
    policy allows; the result covers every attempt. An open client is synced once."""
    if isinstance(open_client, DeviceClient):
        return await sync(open_client, store, on_progress=on_progress)
    tally = _Tally(store, on_progress)

    async def attempt(client: DeviceClient) -> SyncResult:
        if tally.before is None:
            tally.snapshot((await client.hello()).device_id)
        return await sync(client, store, on_progress=tally.progress)

    last = await with_reconnect(open_client, attempt, policy=policy, where=tally.dropped)
    before = tally.before if tally.before is not None else {}
    return merge_result(last, store, before, tally.bytes_earlier + last.bytes_read)
