"""Which stored sessions an export takes, and the files they go to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from repcue.store.db import Store
from repcue.store.models import SessionSummary


def session_date_s(summary: SessionSummary) -> int:
    """When the session ran, as well as the store knows: the device's date, else its sync."""
    return summary.start_wall_s if summary.start_wall_s is not None else summary.synced_s


def select_sessions(
    store: Store, refs: Sequence[str], *, since: date | None = None, everything: bool = False
) -> list[SessionSummary]:
    """The sessions named (ids, 'last', DEVICE:ID), those from `since` on (local date), or
    all of them: oldest first, each once."""
    chosen: dict[int, SessionSummary] = {}
    for ref in refs:
        found = store.find_session(ref)
        chosen.setdefault(found.row_id, found)
    if everything or since is not None:
        start_s = 0
        if since is not None:
            start_s = int(datetime.combine(since, datetime.min.time()).astimezone().timestamp())
        for summary in store.sessions():
            if session_date_s(summary) >= start_s:
                chosen.setdefault(summary.row_id, summary)
    return sorted(chosen.values(), key=lambda s: s.row_id)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def file_name(summary: SessionSummary, ext: str) -> str:
    """session-12-2026-12-05-1400-6x800m-5k.fit: the store's number first (unique), then the
    date (UTC; 'undated' without one) and the plan's name for people."""
    when = "undated"
    if summary.start_wall_s is not None:
        when = datetime.fromtimestamp(summary.start_wall_s, UTC).strftime("%Y-%m-%d-%H%M")
    plan = _slug(summary.plan_name or "")
    return f"session-{summary.row_id}-{when}" + (f"-{plan}" if plan else "") + f".{ext}"
