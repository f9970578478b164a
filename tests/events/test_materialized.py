"""Materialized properties in the event store: columns filled by every write path and by the
backfill, equal to the query-time extraction on any JSON, never failing on bad values."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.errors import Conflict, InvalidInput, NotFound
from opsloop.events import EventStore, IncomingEvent, open_event_store
from opsloop.events.materialized import (
    add_materialized,
    column_for,
    drop_materialized,
    list_materialized,
    number_sql,
    text_sql,
)
from opsloop.events.store import events_to_arrow
from opsloop.events.writer import GroupCommitWriter

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
KEYS = ["amount", "channel", "金额", "odd key.with dots", "Mixed"]


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return open_event_store(tmp_path / "events.duckdb")


def ev(did: str, seconds: int, ws: int = 1, **props: Any) -> IncomingEvent:
    return IncomingEvent(
        ws, str(uuid.uuid4()), "pay", did, T0 + timedelta(seconds=seconds), props, "test"
    )


def _columns(store: EventStore) -> set[str]:
    cur = store.cursor()
    try:
        return {
            name
            for (name,) in cur.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'events'"
                " AND starts_with(column_name, 'mp_')"
            ).fetchall()
        }
    finally:
        cur.close()


def _mismatches(store: EventStore, key: str) -> list[tuple[Any, ...]]:
    """Rows whose materialized columns of `key` differ from the query-time extraction."""
    text, number = column_for(key, "text"), column_for(key, "number")
    cur = store.cursor()
    try:
        return cur.execute(
            f'SELECT properties, "{text}", "{number}" FROM events'
            f' WHERE "{text}" IS DISTINCT FROM {text_sql("properties", key)}'
            f' OR "{number}" IS DISTINCT FROM {number_sql("properties", key)}'
        ).fetchall()
    finally:
        cur.close()


def _values(store: EventStore, column: str, ws: int = 1) -> list[Any]:
    cur = store.cursor()
    try:
        rows = cur.execute(
            f'SELECT "{column}" FROM events WHERE workspace_id = ? ORDER BY timestamp', [ws]
        ).fetchall()
    finally:
        cur.close()
    return [v for (v,) in rows]


def _expected_number(value: Any) -> float | None:
    """A JSON number as a double; anything else (strings of digits too) has none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def test_column_names() -> None:
    assert column_for("amount", "text") == "mp_amount"
    assert column_for("amount", "number") == "mp_amount__num"
    assert column_for("order_id", "text") == "mp_order_id"
    # Keys that are not plain lower-case identifiers keep a readable slug and get a hash.
    odd = column_for("Order ID", "text")
    assert odd.startswith("mp_order_id_") and len(odd) == len("mp_order_id_") + 8
    assert column_for("Order ID", "text") != column_for("order id", "text")
    assert column_for("金额", "text").startswith("mp_") and len(column_for("金额", "text")) == 15
    assert len({column_for(k, kind) for k in KEYS for kind in ("text", "number")}) == 10


# Every JSON value a property can hold, with the awkward ones: escapes, big and tiny numbers.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["10", "1e400", "", "'", "a\\b", "null", "\u00e9\u4e2d"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)
documents = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=len(KEYS))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(documents, max_size=6), after=st.lists(documents, max_size=6))
def test_columns_equal_the_query_time_extraction(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> None:
    """Backfilled rows (stored before) and written rows (after: live, bulk and row by row) hold
    exactly what text_sql / number_sql give on the stored JSON."""
    store = open_event_store(Path(":memory:"))
    try:
        store.append_table(
            events_to_arrow([ev("u", i, **d) for i, d in enumerate(before)], T0), dedupe="none"
        )
        for key in KEYS:
            add_materialized(store, 1, key, "text", rows_per_slice=3)
            add_materialized(store, 1, key, "number", rows_per_slice=3)
        n = len(before)
        events = [ev("u", n + i, **d) for i, d in enumerate(after)]
        quarter = len(events) // 4
        store.write_events(events[:quarter])
        store.append_table(events_to_arrow(events[quarter : 2 * quarter], T0))
        cur = store.cursor()  # a local import: a query of the cursor's own tables
        try:
            cur.register("_staged", events_to_arrow(events[2 * quarter : 3 * quarter], T0))
            store.append_query(cur, "SELECT * FROM _staged", 1)
        finally:
            cur.close()
        store.write_events_row_by_row(events[3 * quarter :])
        assert store.count_events(1) == len(before) + len(after)
        for key in KEYS:
            assert _mismatches(store, key) == []
        everything = [*before, *after]
        assert _values(store, column_for("amount", "number")) == [
            _expected_number(d.get("amount")) for d in everything
        ]
        assert [
            v
            for v, d in zip(_values(store, "mp_channel"), everything, strict=True)
            if isinstance(d.get("channel"), str)
        ] == [d["channel"] for d in everything if isinstance(d.get("channel"), str)]
    finally:
        store.close()


def test_backfill_covers_the_workspace_in_slices_and_reports_progress(store: EventStore) -> None:
    store.write_events([ev(f"u{i}", i * 3600, amount=i, channel=f"c{i % 3}") for i in range(25)])
    store.write_events([ev("other", 10, ws=2, amount=5, channel="x")])
    steps: list[tuple[int, int]] = []
    prop = add_materialized(
        store, 1, "amount", progress=lambda i, n: steps.append((i, n)), rows_per_slice=4
    )
    assert (prop.kind, prop.column, prop.ready, prop.origin) == (
        "number",
        "mp_amount__num",
        True,
        "manual",
    )
    assert steps == [(i, 7) for i in range(1, 8)]
    assert _values(store, "mp_amount__num") == [float(i) for i in range(25)]
    assert _values(store, "mp_amount__num", ws=2) == [None]  # not materialized there
    assert store.materialized.ready(1) == {("amount", "number"): "mp_amount__num"}
    assert store.materialized.ready(2) == {}
    # The same again is a no-op; the other workspace gets its rows backfilled.
    assert add_materialized(store, 1, "amount") == prop
    add_materialized(store, 2, "amount", "number")
    assert _values(store, "mp_amount__num", ws=2) == [5.0]
    assert add_materialized(store, 1, "channel").kind == "text"


def test_the_kind_follows_the_observed_values(store: EventStore) -> None:
    store.write_events(
        [
            ev("a", 1, price=3, ratio=0.5, code="7", mixed=1),
            ev("b", 2, price=4, ratio=None, code="8", mixed="x"),
        ]
    )
    kinds = {k: add_materialized(store, 1, k).kind for k in ("price", "ratio", "code", "mixed")}
    assert kinds == {"price": "number", "ratio": "number", "code": "text", "mixed": "text"}
    assert add_materialized(store, 1, "never_seen").kind == "text"


def test_bad_values_never_fail_a_write(store: EventStore) -> None:
    add_materialized(store, 1, "amount", "number")
    bad = [{"amount": "12abc"}, {"amount": {"x": 1}}, {"amount": [1]}, {"amount": True}]
    store.write_events([ev("u", i, **d) for i, d in enumerate(bad)])
    store.write_events([ev("u", 10, amount=float("1e308") * 10)])  # orjson writes null
    store.write_events([ev("u", 11, amount=2**64 - 1)])
    assert _values(store, "mp_amount__num") == [None] * 5 + [float(2**64 - 1)]


def test_drop_removes_the_column_when_no_workspace_uses_it(store: EventStore) -> None:
    store.write_events([ev("u", 1, channel="a"), ev("v", 2, ws=2, channel="b")])
    add_materialized(store, 1, "channel")
    add_materialized(store, 2, "channel")
    assert [p.key for p in drop_materialized(store, 1, "channel")] == ["channel"]
    assert "mp_channel" in _columns(store)  # workspace 2 still reads it
    assert store.materialized.ready(1) == {}
    drop_materialized(store, 2, "channel", "text")
    assert _columns(store) == set()
    store.write_events([ev("u", 3, channel="c")])  # writes go on without the column
    with pytest.raises(NotFound) as err:
        drop_materialized(store, 1, "channel")
    assert err.value.field == "key"


def test_bad_keys_and_the_per_workspace_limit(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("", 'a"b', "a\\b", "x" * 201):
        with pytest.raises(InvalidInput) as err:
            add_materialized(store, 1, key, "text")
        assert err.value.field == "key"
    monkeypatch.setattr("opsloop.events.materialized.MAX_PER_WORKSPACE", 2)
    add_materialized(store, 1, "a", "text")
    add_materialized(store, 1, "b", "text")
    with pytest.raises(InvalidInput):
        add_materialized(store, 1, "c", "text")
    add_materialized(store, 2, "c", "text")  # another workspace has its own allowance


def test_a_column_name_taken_by_another_key_is_a_conflict(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_materialized(store, 1, "a", "text")
    monkeypatch.setattr("opsloop.events.materialized.column_for", lambda key, kind: "mp_a")
    with pytest.raises(Conflict):
        add_materialized(store, 1, "b", "text")


def test_the_registry_survives_reopening_and_read_only_stores_see_it(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = open_event_store(path)
    store.write_events([ev("u", 1, amount=9.5)])
    add_materialized(store, 1, "amount", origin="auto")
    store.close()
    store = open_event_store(path, read_only=True)
    try:
        assert store.materialized.ready(1) == {("amount", "number"): "mp_amount__num"}
        [p] = list_materialized(store.cursor(), 1)
        assert (p.key, p.kind, p.origin, p.ready) == ("amount", "number", "auto", True)
    finally:
        store.close()
    store = open_event_store(path)
    try:
        store.write_events([ev("u", 2, amount=1)])
        assert _values(store, "mp_amount__num") == [9.5, 1.0]
    finally:
        store.close()


def test_an_unfinished_backfill_is_resumed(store: EventStore) -> None:
    store.write_events([ev("u", i, amount=i) for i in range(5)])
    with store.transaction() as con:  # as a process stopped mid-backfill leaves it
        con.execute('ALTER TABLE events ADD COLUMN "mp_amount__num" DOUBLE')
        con.execute(
            "INSERT INTO materialized_properties VALUES"
            " (1, 'amount', 'number', 'mp_amount__num', 'manual', false, now())"
        )
        store.materialized.reload(con)
    assert store.materialized.ready(1) == {}
    assert [c.column for c in store.materialized.fill] == ["mp_amount__num"]
    store.write_events([ev("u", 5, amount=5)])  # filled already, before the backfill ends
    assert _values(store, "mp_amount__num") == [None] * 5 + [5.0]
    assert add_materialized(store, 1, "amount").ready
    assert _values(store, "mp_amount__num") == [float(i) for i in range(6)]


def test_live_writes_through_the_writer_fill_the_columns(store: EventStore) -> None:
    add_materialized(store, 1, "amount", "number")
    writer = GroupCommitWriter(store)
    try:
        writer.write_events([ev("u", 1, amount=3), ev("u", 2, amount="3")])
    finally:
        writer.close()
    values = _values(store, "mp_amount__num")
    assert values == [3.0, None]
    assert not any(isinstance(v, float) and math.isnan(v) for v in values)
