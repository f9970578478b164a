"""The event store: what users did, and who they are (persons, distinct ids)."""

from opsloop.events.schema import IncomingEvent, PersonOp
from opsloop.events.store import EventStore, WriteResult, open_event_store

__all__ = ["EventStore", "IncomingEvent", "PersonOp", "WriteResult", "open_event_store"]
