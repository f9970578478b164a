"""The event store: idempotent writes, persons, merges and reading back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from opsloop.events import EventStore, IncomingEvent, PersonOp, open_event_store
from opsloop.events import store as store_module
from opsloop.events.schema import EVENT_ARROW_SCHEMA, person_id_for
from opsloop.events.store import events_to_arrow

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(tmp_path / "events.duckdb")


def ev(
    name: str,
    did: str,
    seconds: int = 0,
    ops: list[PersonOp] | None = None,
    ws: int = 1,
    **props: object,
) -> IncomingEvent:
    return IncomingEvent(
        ws,
        str(uuid.uuid4()),
        name,
        did,
        T0 + timedelta(seconds=seconds),
        dict(props),
        "test",
        ops or [],
    )


def test_resent_event_is_stored_once(store: EventStore) -> None:
    e = ev("pay", "u1", amount=10)
    first = store.write_events([e, e])
    again = store.write_events([e])
    assert (first.accepted, first.duplicates, first.stored) == (1, 1, (True, False))
    assert (again.accepted, again.duplicates) == (0, 1)
    assert store.count_events(1) == 1


def test_same_uuid_in_two_workspaces_is_two_events(store: EventStore) -> None:
    a = ev("pay", "u1", ws=1)
    b = IncomingEvent(2, a.uuid, "pay", "u1", a.timestamp, {}, "test")
    assert store.write_events([a, b]).accepted == 2


def test_every_new_distinct_id_gets_a_person(store: EventStore) -> None:
    store.write_events([ev("a", "u1"), ev("b", "u2", 5), ev("c", "u1", 9)])
    p1 = store.get_person(1, "u1")
    assert p1 is not None
    assert p1["id"] == person_id_for(1, "u1")
    assert p1["distinct_ids"] == ["u1"]
    assert p1["created_at"] == T0
    assert store.get_person(1, "nobody") is None


def test_a_group_that_fails_to_commit_leaves_nothing_behind(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual group begins, inserts and commits in one call: a failure after the insert
    rolls all of it back (events and persons), and the store takes the next group."""
    real = store_module._insert_sql
    monkeypatch.setattr(
        store_module, "_insert_sql", lambda *a: real(*a) + "; SELECT error('disk full')"
    )
    with pytest.raises(duckdb.Error, match="disk full"):
        store.write_events([ev("pay", "u1"), ev("pay", "u2")])
    monkeypatch.setattr(store_module, "_insert_sql", real)
    assert store.count_events(1) == 0
    assert store.get_person(1, "u1") is None
    result = store.write_events([ev("view", "u2"), ev("pay", "u3")])
    assert (result.accepted, store.count_events(1)) == (2, 2)
    assert store.get_person(1, "u1") is None
    assert store.get_person(1, "u3") is not None


def test_identify_merges_anonymous_history_into_the_user(store: EventStore) -> None:
    store.write_events([ev("view", "anon", 0, plan="free"), ev("view", "anon", 10)])
    store.write_events([ev("login", "user", 20)])
    store.write_events(
        [
            ev(
                "$identify",
                "user",
                30,
                [PersonOp("identify", other_id="anon"), PersonOp("set", {"name": "张三"})],
            )
        ]
    )
    person = store.get_person(1, "anon")
    assert person == store.get_person(1, "user")
    assert person is not None
    assert person["distinct_ids"] == ["anon", "user"]
    assert person["is_identified"] is True
    assert person["created_at"] == T0
    assert person["properties"] == {"name": "张三"}
    events, _ = store.list_events(1, person_id=person["id"])
    assert [e["event"] for e in events] == ["$identify", "login", "view", "view"]


def test_identify_never_merges_two_identified_users(store: EventStore) -> None:
    store.write_events([ev("$identify", "alice", 0, [PersonOp("identify")])])
    store.write_events([ev("$identify", "bob", 5, [PersonOp("identify", other_id="alice")])])
    alice, bob = store.get_person(1, "alice"), store.get_person(1, "bob")
    assert alice is not None and bob is not None
    assert alice["id"] != bob["id"]


def test_alias_merges_even_ids_never_seen(store: EventStore) -> None:
    store.write_events([ev("$create_alias", "anon", 0, [PersonOp("merge", other_id="user-42")])])
    a, u = store.get_person(1, "anon"), store.get_person(1, "user-42")
    assert a is not None and a == u
    assert a["distinct_ids"] == ["anon", "user-42"]


def test_chained_merges_in_one_batch(store: EventStore) -> None:
    store.write_events([ev("x", "a", 0, p="a"), ev("x", "b", 1, q="b"), ev("x", "c", 2)])
    store.write_events(
        [
            ev("$create_alias", "b", 3, [PersonOp("merge", other_id="a")]),
            ev("$create_alias", "c", 4, [PersonOp("merge", other_id="b")]),
        ]
    )
    person = store.get_person(1, "a")
    assert person is not None and person["distinct_ids"] == ["a", "b", "c"]
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM persons WHERE workspace_id = 1").fetchone() == (1,)


def test_property_operations_follow_arrival_order(store: EventStore) -> None:
    store.write_events(
        [
            ev("$set", "u", 0, [PersonOp("set", {"a": 1, "b": 1})]),
            ev("$set", "u", 1, [PersonOp("set_once", {"a": 2, "c": 3})]),
            ev("$set", "u", 2, [PersonOp("unset", ["b"])]),
            ev("$set", "u", 3, [PersonOp("add", {"points": 10}), PersonOp("add", {"points": 5})]),
            ev(
                "$set",
                "u",
                4,
                [PersonOp("append", {"tags": "vip"}), PersonOp("append", {"tags": ["x"]})],
            ),
        ]
    )
    person = store.get_person(1, "u")
    assert person is not None
    assert person["properties"] == {"a": 1, "c": 3, "points": 15, "tags": ["vip", "x"]}


def test_list_events_filters_and_pages_newest_first(store: EventStore) -> None:
    store.write_events([ev("e", f"u{i % 3}", i) for i in range(25)])
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = store.list_events(1, limit=7, cursor=cursor)
        seen += [e["uuid"] for e in page]
        if cursor is None:
            break
    all_page, _ = store.list_events(1, limit=100)
    assert seen == [e["uuid"] for e in all_page]
    assert len(seen) == 25
    stamps = [e["timestamp"] for e in all_page]
    assert stamps == sorted(stamps, reverse=True)
    only, _ = store.list_events(
        1, distinct_id="u1", after=T0 + timedelta(seconds=10), before=T0 + timedelta(seconds=20)
    )
    assert sorted(e["timestamp"] for e in only) == [
        T0 + timedelta(seconds=s) for s in range(10, 20) if s % 3 == 1
    ]


def test_bulk_append_dedupes_against_store_and_itself(store: EventStore) -> None:
    live = ev("pay", "u1")
    store.write_events([live])
    rows = [live, ev("pay", "u2"), ev("pay", "u3")]
    table = events_to_arrow([*rows, rows[1]], T0)
    result = store.append_table(table)
    assert (result.accepted, result.duplicates) == (2, 2)
    assert store.count_events(1) == 3
    assert store.get_person(1, "u3") is not None


def test_bulk_person_properties(store: EventStore) -> None:
    store.append_table(events_to_arrow([ev("a", "u1"), ev("a", "u2")], T0), dedupe="none")
    store.set_person_properties(
        1, pa.table({"distinct_id": ["u1"], "properties": ['{"channel": "小红书"}']})
    )
    p = store.get_person(1, "u1")
    assert p is not None and p["properties"] == {"channel": "小红书"}


def test_arrow_layout_matches_schema() -> None:
    table = events_to_arrow([ev("a", "u", 0, **{"$lib": "web", "$session_id": "s1"})], T0)
    assert table.schema == EVENT_ARROW_SCHEMA
    assert table.column("lib").to_pylist() == ["web"]
    assert table.column("session_id").to_pylist() == ["s1"]
