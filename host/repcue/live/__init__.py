"""Live events from a device: the JSON schema (events), the state a view needs (state),
following a session (follow) and the terminal view (view). docs/live.md has the schema."""

from repcue.live.events import EventMapper, validate
from repcue.live.follow import follow, follow_resumable
from repcue.live.state import LiveState

__all__ = ["EventMapper", "LiveState", "follow", "follow_resumable", "validate"]
