"""Synced sessions to an MQTT broker (`repcue sync --mqtt`), after the store's commit.

Each session of the device that no broker has acknowledged yet goes to
`repcue/v1/{athlete}/{device_id}/session` (QoS 1, not retained) as `repcue show --json`
plus `uid` (`{device_id}-{device session id}`: stable, so a subscriber deduplicates) and
`athlete`. The store marks a session published only once the broker's PUBACK came; a
broker that is away leaves the rest for the next `sync --mqtt`, which sends them even when
the device has nothing new. A PUBACK lost on the way back means the session is sent twice:
that is what the uid is for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from repcue.errors import BrokerError
from repcue.live.broker import BrokerUrl, connection, topic
from repcue.store import Store
from repcue.store.analysis import session_report
from repcue.store.models import SessionSummary


@dataclass
class PublishResult:
    published: list[str] = field(default_factory=list)  # uids the broker acknowledged
    pending: list[str] = field(default_factory=list)  # uids left for the next sync --mqtt
    error: BrokerError | None = None  # why some are pending


def session_uid(device_id: str, session_id: int) -> str:
    return f"{device_id}-{session_id}"


def session_message(store: Store, summary: SessionSummary, athlete: str) -> dict[str, Any]:
    """What the session topic carries for one stored session."""
    return {
        **session_report(store, summary),
        "uid": session_uid(summary.device_id, summary.session_id),
        "athlete": athlete,
    }


async def publish_sessions(
    store: Store,
    device_id: str,
    broker: BrokerUrl,
    athlete: str,
    *,
    ca_file: str | None = None,
) -> PublishResult:
    """Publish the device's unacknowledged sessions in sync order; never raises for the
    broker (its error comes back in the result, with what is still pending)."""
    result = PublishResult()
    todo = store.unpublished_sessions(device_id)
    if not todo:
        return result
    where = topic(athlete, device_id, "session")
    try:
        async with connection(broker, f"repcue-sync-{athlete}-{device_id}", ca_file=ca_file) as c:
            for summary in list(todo):
                payload = json.dumps(session_message(store, summary, athlete)).encode()
                await c.publish(where, payload, qos=1)  # returns once the PUBACK is in
                store.mark_published(summary.row_id)
                result.published.append(session_uid(device_id, summary.session_id))
                todo.pop(0)
    except BrokerError as err:  # said by the caller, after the sessions are stored
        result.error = err
    result.pending = [session_uid(device_id, s.session_id) for s in todo]
    return result
