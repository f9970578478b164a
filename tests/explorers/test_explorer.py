"""The pickers' names (events, event and person properties) are read from the event store once
per data version: a page asks again without a scan, and a write brings the new names in; profile
operations sent inside an event's properties ($set) are not offered as properties."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.events import activity
from opsloop.explorers import explorer
from tests.conftest import LiveServer
from tests.web.conftest import send_events


def _event(name: str, **props: Any) -> dict[str, Any]:
    return {"event": name, "distinct_id": "p1", "timestamp": "2026-11-01T01:00:00Z",
            "properties": props}  # fmt: skip


def test_names_are_read_again_only_after_a_write(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ws = live_server.app_state.store, live_server.workspace.id
    scans: list[str] = []
    real_events, real_props = activity.event_names, activity.property_names
    monkeypatch.setattr(
        explorer, "event_names", lambda s, w: scans.append("events") or real_events(s, w)
    )
    monkeypatch.setattr(
        explorer, "property_names", lambda s, w: scans.append("props") or real_props(s, w)
    )
    send_events(live_server, [_event("app_open", channel="小红书")])
    first = explorer.store_names(store, ws)
    assert first == (["app_open"], ["channel"], [])
    assert explorer.store_names(store, ws) == first
    assert scans == ["events", "props"]  # the second call read nothing

    send_events(live_server, [_event("pay", amount=3.5, **{"$set": {"city": "上海"}})])
    events, event_props, person_props = explorer.store_names(store, ws)
    assert (events, sorted(event_props), person_props) == (
        ["app_open", "pay"],
        ["amount", "channel"],  # not $set: a profile operation, though kept on the event
        ["city"],
    )
    assert scans == ["events", "props", "events", "props"]
    assert explorer.store_names(store, ws + 1) == ([], [], [])  # another workspace: its own
