"""The user timeline: all of a merged person's events newest first, keyset pages that neither
skip nor repeat events with equal timestamps, on DuckDB and ClickHouse."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.clickhouse import export_parquet, load_parquet
from opsloop.analytics.queries.timeline import TimelineQuery, run_timeline, timeline
from opsloop.errors import InvalidInput, NotFound
from opsloop.events import IncomingEvent, PersonOp
from tests.analytics.conftest import World
from tests.analytics.logs import ChdbPool, Loaded, Row, load_log, person_id

START = datetime(2026, 3, 1, 9, 0)
IDENTIFY_UUID = "00000000-0000-0000-0000-0000000f0000"


def load_merged(rows: list[Row], pool: ChdbPool) -> Loaded:
    """load_log, then `anon` identified as `u1` (one person, two distinct ids) in both engines."""
    loaded = load_log(rows, pool)
    store = loaded.duck.engine.store  # type: ignore[attr-defined]
    at = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    op = PersonOp("identify", other_id="anon")
    store.write_events([IncomingEvent(1, IDENTIFY_UUID, "$identify", "u1", at, {}, "test", [op])])
    folder = Path(tempfile.mkdtemp(prefix="opsloop-merged-"))
    load_parquet(pool.session, export_parquet(store.cursor(), folder), "log")
    return loaded


def expected_events(
    rows: list[Row], ids: set[str], before: datetime | None
) -> list[tuple[Any, ...]]:
    """(uuid, event, distinct_id, UTC time) of the person's events, newest first."""
    out = [
        (f"00000000-0000-0000-0000-{i + 1:012x}", r.event, r.person, _utc(r.local))
        for i, r in enumerate(rows)
        if r.person in ids
    ]
    if "u1" in ids:
        out.append((IDENTIFY_UUID, "$identify", "u1", datetime(2026, 3, 1, 1, 0, tzinfo=UTC)))
    if before is not None:
        out = [e for e in out if e[3] < before]
    return sorted(out, key=lambda e: (e[3], e[0]), reverse=True)


def _utc(local: datetime) -> datetime:
    return (local - timedelta(hours=8)).replace(tzinfo=UTC)  # Asia/Shanghai has no DST


def all_pages(ctx: Any, limit: int, **who: Any) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    cursor = None
    for _ in range(100):
        page = run_timeline(ctx, TimelineQuery(limit=limit, cursor=cursor, **who))
        assert len(page["results"]) <= limit
        seen += [
            (e["uuid"], e["event"], e["distinct_id"], datetime.fromisoformat(e["timestamp"]))
            for e in page["results"]
        ]
        cursor = page["next"]
        if cursor is None:
            return seen
    raise AssertionError("the timeline did not end")


events = st.lists(
    st.tuples(
        st.sampled_from(["u1", "anon", "u2"]),
        st.sampled_from(["app_open", "pay", "view_item"]),
        st.integers(0, 6),  # few distinct instants: many equal timestamps
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=events, limit=st.integers(1, 5), cut=st.one_of(st.none(), st.integers(0, 7)))
def test_pages_cover_the_merged_person_exactly_once(
    chdb_pool: ChdbPool, raw: list[tuple[str, str, int]], limit: int, cut: int | None
) -> None:
    rows = [Row(p, ev, START + timedelta(minutes=30 * k)) for p, ev, k in raw]
    loaded = load_merged(rows, chdb_pool)
    before = None if cut is None else _utc(START + timedelta(minutes=30 * cut))
    for who, ids in (({"distinct_id": "anon"}, {"u1", "anon"}), ({"distinct_id": "u2"}, {"u2"})):
        if "u2" in ids and not any(p == "u2" for p, _, _ in raw):
            continue
        query = {**who, "before": before}
        expected = expected_events(rows, ids, before)
        assert all_pages(loaded.duck, limit, **query) == expected
        assert all_pages(loaded.ch, limit, **query) == expected


def test_the_answer_names_the_person_and_its_ids(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("anon", "view_item", datetime(2026, 3, 1, 8, 0), {"item": "手机"}),
        Row("u1", "pay", datetime(2026, 3, 1, 12, 0), {"amount": 10}),
        Row("u2", "pay", datetime(2026, 3, 1, 12, 0)),
    ]
    loaded = load_merged(rows, chdb_pool)
    pid = person_id(loaded.duck, "u1")
    page = timeline(loaded.duck, person_id=pid, limit=2)
    assert page["person_id"] == pid and page["distinct_ids"] == ["anon", "u1"]
    assert page["results"] == [
        {
            "uuid": "00000000-0000-0000-0000-000000000002",
            "event": "pay",
            "distinct_id": "u1",
            "timestamp": "2026-03-01T04:00:00+00:00",
            "local_time": "2026-03-01T12:00:00+08:00",
            "properties": {"amount": 10},
        },
        {
            "uuid": IDENTIFY_UUID,
            "event": "$identify",
            "distinct_id": "u1",
            "timestamp": "2026-03-01T01:00:00+00:00",
            "local_time": "2026-03-01T09:00:00+08:00",
            "properties": {},
        },
    ]
    assert timeline(loaded.ch, person_id=pid, limit=2) == page
    assert timeline(loaded.duck, person_id=pid.upper(), limit=2) == page
    assert timeline(loaded.ch, person_id=pid.upper(), limit=2) == page
    rest = timeline(loaded.duck, person_id=pid, limit=2, cursor=page["next"])
    assert [(e["event"], e["properties"]) for e in rest["results"]] == [
        ("view_item", {"item": "手机"})
    ]
    assert rest["next"] is None
    # A naive `before` is local time: 12:00 local excludes the 12:00 payment.
    early = timeline(loaded.duck, distinct_id="u1", before=datetime(2026, 3, 1, 12, 0))
    assert [e["event"] for e in early["results"]] == ["$identify", "view_item"]


def test_bad_requests(chdb_pool: ChdbPool) -> None:
    loaded = load_log([Row("a", "pay", START)], chdb_pool)
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({}, InvalidInput, "person_id"),
        ({"person_id": "x", "distinct_id": "a"}, InvalidInput, "person_id"),
        ({"distinct_id": "nobody"}, NotFound, "distinct_id"),
        ({"person_id": "0b0b0b0b-d8f5-57c9-811f-d38259a0a19f"}, NotFound, "person_id"),
        ({"person_id": "not-a-uuid"}, NotFound, "person_id"),
        ({"distinct_id": "a", "cursor": "bm90IGEgY3Vyc29y"}, InvalidInput, "cursor"),
    ]
    for who, error, field in cases:
        for ctx in (loaded.duck, loaded.ch):
            with pytest.raises(error) as err:
                timeline(ctx, **who)
            assert err.value.field == field  # type: ignore[attr-defined]


def test_a_demo_world_person(world: World) -> None:
    e = world.events
    busiest = e["person_id"].value_counts().index[0]
    mine = e[e["person_id"] == busiest].sort_values(["ts", "distinct_id"], ascending=False)
    answer = all_pages(world.duck, 200, person_id=busiest)
    assert len(answer) == len(mine) > 20
    assert [a[3] for a in answer] == sorted((t.to_pydatetime() for t in mine["ts"]), reverse=True)
    assert sorted(a[1] for a in answer) == sorted(mine["event"])
    assert all_pages(world.ch, 200, person_id=busiest) == answer
