"""The coach's group start on `repcue/v1/_group/start` (QoS 1, not retained):
`{"v": 1, "id": "<uuid4 hex>", "at_ms": <unix ms, a few seconds ahead>}`.

A bridge hands each valid start to its callback once: a message seen again (QoS 1 may
deliver twice, a reconnect may too) is ignored by its id; a start already past when it
arrives, or more than 10 minutes ahead, is refused and said, never run late.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

GROUP_START_VERSION = 1
MAX_AHEAD_MS = 10 * 60 * 1000
_MAX_ID_CHARS = 64
_SEEN_LIMIT = 1000  # ids remembered (a coach presses a few times an hour)
OnGroupStart = Callable[[int, str], None]  # (at_ms: unix ms, start_id)


def group_start_message(in_s: float, now_ms: int | None = None) -> dict[str, Any]:
    """A start `in_s` seconds from now, as the coach publishes it."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return {"v": GROUP_START_VERSION, "id": uuid.uuid4().hex, "at_ms": now + int(in_s * 1000)}


def _when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")


class GroupStartGate:
    """Validates group start messages and passes each new one on to `on_start`; what it
    refuses is one line to `notice`."""

    def __init__(
        self,
        on_start: OnGroupStart,
        notice: Callable[[str], None] = lambda line: None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.on_start, self.notice, self.now_ms = on_start, notice, now_ms
        self._seen: dict[str, None] = {}  # insertion-ordered: the oldest forgotten first

    def _parse(self, payload: bytes) -> tuple[str, int] | str:
        """(id, at_ms), or why the message is not a group start."""
        try:
            obj = json.loads(payload)
        except (UnicodeDecodeError, ValueError):
            return "not JSON"
        if not isinstance(obj, dict) or obj.get("v") != GROUP_START_VERSION:
            return f"not a version {GROUP_START_VERSION} group start"
        start_id, at_ms = obj.get("id"), obj.get("at_ms")
        if not isinstance(start_id, str) or not 0 < len(start_id) <= _MAX_ID_CHARS:
            return "no id"
        if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms <= 0:
            return "no at_ms (unix ms)"
        return start_id, at_ms

    def feed(self, payload: bytes) -> bool:
        """One message's payload; True when on_start was called with it."""
        parsed = self._parse(payload)
        if isinstance(parsed, str):
            self.notice(f"group start ignored: {parsed} ({payload[:80]!r})")
            return False
        start_id, at_ms = parsed
        if start_id in self._seen:
            return False  # a duplicate delivery: handled (or refused) once already
        self._seen[start_id] = None
        if len(self._seen) > _SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        ahead_ms = at_ms - self.now_ms()
        if ahead_ms < 0:
            self.notice(
                f"group start {start_id[:8]} refused: its instant {_when(at_ms)} passed "
                f"{-ahead_ms} ms before it arrived (not run late)"
            )
            return False
        if ahead_ms > MAX_AHEAD_MS:
            self.notice(
                f"group start {start_id[:8]} refused: {_when(at_ms)} is {ahead_ms // 1000} s "
                f"ahead, more than {MAX_AHEAD_MS // 60_000} min (a clock far off?)"
            )
            return False
        self.notice(f"group start {start_id[:8]} at {_when(at_ms)} (in {ahead_ms} ms)")
        self.on_start(at_ms, start_id)
        return True
