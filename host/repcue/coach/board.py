"""The coach's board: one tile per (athlete, device), built from the MQTT messages.

A tile is the athlete's latest `state` snapshot (docs/live.md, "MQTT") with `"online"` added
from the retained `status` topic; a device whose status is `offline` keeps its tile (the page
greys it). Finished sessions arrive on the `session` topic and are kept once per `uid`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from repcue.live.mqtt import TOPIC_ROOT

# the topics the coach follows (a `+` for the athlete and one for the device)
SUBSCRIPTIONS = tuple(f"{TOPIC_ROOT}/+/+/{leaf}" for leaf in ("state", "status", "session"))
SESSIONS_KEPT = 500  # a long day at the track; the oldest go first

Key = tuple[str, str]  # (athlete, device_id)


@dataclass(frozen=True)
class Change:
    """What a message changed, as the stream sends it: kind "state" (a tile) or "session"."""

    kind: str
    data: dict[str, Any]


@dataclass
class Board:
    tiles: dict[Key, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> session
    ignored: int = 0  # messages that were not what the topic promises (bad JSON, bad topic)

    def athletes(self) -> list[dict[str, Any]]:
        """The tiles, by athlete then device, so the page's order stays put."""
        return [self.tiles[k] for k in sorted(self.tiles)]

    def finished(self) -> list[dict[str, Any]]:
        """The finished sessions, newest first."""
        return list(reversed(self.sessions.values()))

    def apply(self, topic: str, payload: bytes) -> Change | None:
        """One MQTT message; returns what changed, or None (nothing new, or not for us)."""
        parts = topic.split("/")
        root = "/".join(parts[:2])
        if len(parts) != 5 or root != TOPIC_ROOT or not parts[2] or parts[2].startswith("_"):
            self.ignored += 1
            return None
        key = (parts[2], parts[3])
        leaf = parts[4]
        if leaf == "status":
            return self._status(key, payload)
        try:
            obj = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.ignored += 1
            return None
        if not isinstance(obj, dict):
            self.ignored += 1
            return None
        if leaf == "state":
            return self._state(key, obj)
        if leaf == "session":
            return self._session(key, obj)
        self.ignored += 1
        return None

    def _status(self, key: Key, payload: bytes) -> Change | None:
        if payload not in (b"online", b"offline"):
            # an empty retained message clears the topic: the device is gone, greyed
            if payload == b"" and key in self.tiles:
                self.tiles[key]["online"] = False
                return Change("state", self.tiles[key])
            self.ignored += 1
            return None
        online = payload == b"online"
        found = self.tiles.get(key)
        if found is None:
            # status before any state: a tile with the names only, filled by the first state
            tile: dict[str, Any] = {"athlete": key[0], "device_id": key[1], "status": None}
            self.tiles[key] = tile
        elif found.get("online") == online:
            return None
        else:
            tile = found
        tile["online"] = online
        return Change("state", tile)

    def _state(self, key: Key, obj: dict[str, Any]) -> Change:
        old = self.tiles.get(key)
        # a state without a status seen yet comes from a bridge that is publishing: online
        online = True if old is None else old.get("online", True)
        tile = {**obj, "athlete": key[0], "device_id": key[1], "online": online}
        self.tiles[key] = tile
        return Change("state", tile)

    def _session(self, key: Key, obj: dict[str, Any]) -> Change | None:
        uid = obj.get("uid")
        if not isinstance(uid, str) or not uid:
            self.ignored += 1
            return None
        if uid in self.sessions:
            return None  # QoS 1 delivers at least once, and sync may publish again
        session = {**obj, "athlete": obj.get("athlete") or key[0]}
        self.sessions[uid] = session
        while len(self.sessions) > SESSIONS_KEPT:
            del self.sessions[next(iter(self.sessions))]
        return Change("session", session)
