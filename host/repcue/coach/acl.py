"""The topic ACL of docs/live.md as a function (the embedded broker asks it; Mosquitto reads
the same rules from hub.ACL): the coach reads everything under repcue/v1 and writes only
the group start; an athlete (user name = athlete name) writes only under its own name and
reads only the group start."""

from __future__ import annotations

from repcue.live.broker import GROUP_START_TOPIC
from repcue.live.mqtt import TOPIC_ROOT

COACH_USER = "coach"


def allowed(user: str | None, topic: str, action: str) -> bool:
    """action: "publish", "subscribe" (topic is a filter) or "receive"."""
    if not user or any(c in user for c in "/+#"):
        return False
    if user == COACH_USER:
        if action == "publish":
            return topic == GROUP_START_TOPIC
        return topic == TOPIC_ROOT or topic.startswith(TOPIC_ROOT + "/") or topic == "#"
    if action == "publish":
        return topic.startswith(f"{TOPIC_ROOT}/{user}/") and not user.startswith("_")
    return topic == GROUP_START_TOPIC
