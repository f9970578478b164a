"""The automatic choice: queries record which event properties they read, and the most read
ones (as text or as numbers) get columns, within the limits; usage survives a restart."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.audit import Who, acting_as, list_entries
from opsloop.db import open_database
from opsloop.events import EventStore, IncomingEvent, open_event_store
from opsloop.properties import service
from opsloop.properties.schemas import AutoMaterializeRequest, MaterializeRequest
from opsloop.workspaces.service import create_workspace

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 1)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """The operational store's unit of work (the audit log), with workspace 1 in it."""
    db = open_database(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    with db.session() as s:
        assert create_workspace(s, "shop").id == 1
    with db.session() as s:
        acting_as(s, Who("tester", "api"))
        yield s
    db.close()


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    s = open_event_store(tmp_path / "events.duckdb")
    s.write_events(
        [
            IncomingEvent(
                1,
                str(uuid.uuid4()),
                "pay",
                f"u{i}",
                T0 + timedelta(minutes=i),
                {"amount": i * 10, "channel": "abc"[i % 3], "plan": "p"},
                "test",
            )
            for i in range(9)
        ]
    )
    return s


def _trends(store: EventStore, **fields: object) -> dict[str, object]:
    ctx = QueryContext(1, "UTC", DuckDbEngine(store))
    q = TrendsQuery.model_validate({"date_from": DAY, "date_to": DAY, **fields})
    return run_trends(ctx, q)


def test_queries_record_what_they_read_and_auto_materializes_the_most_read(
    store: EventStore, session: Session
) -> None:
    by_channel = {"series": [{"event": "pay", "math": "sum", "property": "amount"}]}
    for _ in range(3):
        _trends(store, **by_channel, breakdown="channel")
    _trends(store, **by_channel, filters=[{"property": "plan", "op": "eq", "value": "p"}])
    uses = {(u.key, u.type): u.uses for u in service.usage(store, 1)}
    assert uses == {("amount", "number"): 4, ("channel", "text"): 3, ("plan", "text"): 1}
    before = _trends(store, **by_channel, breakdown="channel")

    request = AutoMaterializeRequest(min_uses=3)
    assert [(u.key, u.kind) for u in service.auto_candidates(store, 1, request)] == [
        ("amount", "number"),
        ("channel", "text"),
    ]
    made = service.auto_materialize(store, session, 1, request)
    assert [(p.key, p.type, p.origin, p.ready) for p in made] == [
        ("amount", "number", "auto", True),
        ("channel", "text", "auto", True),
    ]
    assert service.auto_materialize(store, session, 1, request) == []  # nothing left that hot
    after = _trends(store, **by_channel, breakdown="channel")
    assert {k: v for k, v in after.items() if k != "seconds"} == {
        k: v for k, v in before.items() if k != "seconds"
    }
    listed = {(u.key, u.type): u.materialized for u in service.usage(store, 1)}
    assert listed == {
        ("amount", "number"): True,
        ("channel", "text"): True,
        ("plan", "text"): False,
    }
    assert service.usage(store, 2) == []  # usage is per workspace
    service.drop(store, session, 1, "channel")
    session.flush()
    entries, _ = list_entries(session, 1)
    assert [(e.action, e.entity_id, e.actor) for e in entries] == [
        ("property.unmaterialized", "channel:text", "tester"),
        ("property.materialized", "channel:text", "tester"),
        ("property.materialized", "amount:number", "tester"),
        ("workspace.created", "1", "system"),
    ]
    assert entries[2].after is not None and entries[2].after["column"] == "mp_amount__num"


def test_usage_is_kept_across_a_restart_and_only_recent_days_count(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = open_event_store(path)
    store.property_usage.record(1, "channel", "text")
    store.property_usage.record(1, "channel", "text")
    old = datetime.now(UTC).date() - timedelta(days=40)
    store.property_usage.put_back(Counter({(1, "region", "text", old): 9}))
    store.close()
    store = open_event_store(path)
    try:
        assert [(u.key, u.uses) for u in service.usage(store, 1, days=30)] == [("channel", 2)]
        assert [(u.key, u.uses) for u in service.usage(store, 1, days=60)] == [
            ("region", 9),
            ("channel", 2),
        ]
        store.property_usage.record(1, "channel", "text")
        assert [u.uses for u in service.usage(store, 1, days=30)] == [3]
    finally:
        store.close()


def test_the_limit_and_the_auto_allowance(
    store: EventStore, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("k1", "k2", "k3", "k4"):
        for _ in range(5):
            store.property_usage.record(1, key, "text")
    first = service.auto_materialize(store, session, 1, AutoMaterializeRequest(limit=1))
    assert [p.key for p in first] == ["k1"]
    monkeypatch.setattr("opsloop.properties.service.MAX_AUTO_PER_WORKSPACE", 2)
    service.materialize(store, session, 1, MaterializeRequest(key="manual_one"))  # does not count
    made = service.auto_materialize(store, session, 1, AutoMaterializeRequest(limit=5))
    assert [p.key for p in made] == ["k2"]
    assert [(p.key, p.origin) for p in service.materialized(store, 1)] == [
        ("k1", "auto"),
        ("k2", "auto"),
        ("manual_one", "manual"),
    ]
