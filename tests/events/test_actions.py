"""OpsLoop's own actions become events, once each, through the same writer as SDK events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsloop.errors import InvalidInput
from opsloop.events import open_event_store
from opsloop.events.actions import record_action
from opsloop.events.writer import GroupCommitWriter


def test_actions_are_recorded_once_and_read_like_any_event(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "e.duckdb")
    writer = GroupCommitWriter(store)
    try:
        when = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
        args = dict(idempotency_key="grant-17", module="incentives", timestamp=when)
        assert record_action(writer, 1, "points_earned", "u1", {"points": 10}, **args) is True
        assert record_action(writer, 1, "points_earned", "u1", {"points": 10}, **args) is False
        events, _ = store.list_events(1)
        assert [
            (e["event"], e["distinct_id"], e["timestamp"], e["properties"], e["source"])
            for e in events
        ] == [("points_earned", "u1", when, {"points": 10, "$module": "incentives"}, "opsloop")]
        assert store.get_person(1, "u1") is not None
    finally:
        writer.close()
        store.close()


def test_an_action_needs_a_key(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "e.duckdb")
    with pytest.raises(InvalidInput):
        record_action(store, 1, "x", "u", {}, idempotency_key="", module="m")
