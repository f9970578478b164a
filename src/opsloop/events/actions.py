"""OpsLoop's own actions as events (DESIGN.md principle 1).

Points earned, coupons redeemed, messages sent, campaigns joined: every module records what it did
through `record_action`, so analytics reads the platform's actions like any other event. The id is
derived from the action's idempotency key, so a retried action is recorded once.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from opsloop.errors import InvalidInput
from opsloop.events.schema import IncomingEvent
from opsloop.events.store import WriteResult

ACTION_NAMESPACE = uuidlib.UUID("b3e1a0c4-77d2-4e59-9a61-5f0c8d2e6a13")
ACTION_SOURCE = "opsloop"


class EventSink(Protocol):
    """Anything that commits events: the server's group-commit writer or an EventStore."""

    def write_events(self, events: list[IncomingEvent]) -> WriteResult: ...


def action_event(
    workspace_id: int,
    event: str,
    distinct_id: str,
    properties: Mapping[str, Any],
    *,
    idempotency_key: str,
    module: str,
    timestamp: datetime | None = None,
) -> IncomingEvent:
    if not event or not distinct_id:
        raise InvalidInput("an action needs an event name and a distinct_id", "event")
    if not idempotency_key:
        raise InvalidInput("an action needs an idempotency key", "idempotency_key")
    uid = str(uuidlib.uuid5(ACTION_NAMESPACE, f"{workspace_id}:{module}:{idempotency_key}"))
    props = {**properties, "$module": module}
    return IncomingEvent(
        workspace_id, uid, event, distinct_id, timestamp or datetime.now(UTC), props, ACTION_SOURCE
    )


def record_action(
    sink: EventSink,
    workspace_id: int,
    event: str,
    distinct_id: str,
    properties: Mapping[str, Any],
    *,
    idempotency_key: str,
    module: str,
    timestamp: datetime | None = None,
) -> bool:
    """Write one action event; returns False when that action was already recorded."""
    e = action_event(
        workspace_id,
        event,
        distinct_id,
        properties,
        idempotency_key=idempotency_key,
        module=module,
        timestamp=timestamp,
    )
    return sink.write_events([e]).accepted == 1
