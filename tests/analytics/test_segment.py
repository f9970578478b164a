"""The `segment` query kind: counts, pages, distinct ids and properties on both engines, and
segments of the demo world (dormant users, RFM layers, channel × behaviour) against the
plain-Python evaluator and against the lifecycle and RFM queries."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from opsloop.analytics.engine import ChdbEngine
from opsloop.analytics.queries.lifecycle import LifecycleQuery, run_lifecycle
from opsloop.analytics.queries.rfm import RfmQuery, run_rfm
from opsloop.analytics.queries.segment import SegmentQuery, run_segment
from opsloop.analytics.segments.compiler import Cohort
from opsloop.errors import InvalidInput
from tests.analytics.conftest import END, World
from tests.analytics.logs import ChdbPool, Row, person_id
from tests.analytics.test_segment_rules import Reference
from tests.analytics.test_timeline import load_merged

AS_OF = date(2026, 3, 10)


def test_pages_count_and_person_details(chdb_pool: ChdbPool) -> None:
    rows = [Row(f"p{i:02d}", "pay", datetime(2026, 3, 1 + i % 9, 12)) for i in range(23)]
    rows += [Row("anon", "app_open", datetime(2026, 3, 2)), Row("u1", "pay", datetime(2026, 3, 3))]
    loaded = load_merged(rows, chdb_pool)  # anon and u1 are one person
    rule = {"did": "pay"}
    full = run_segment(loaded.duck, SegmentQuery(rule=rule, as_of=AS_OF, limit=1000))
    ids = sorted(person_id(loaded.duck, f"p{i:02d}") for i in range(23))
    ids = sorted([*ids, person_id(loaded.duck, "u1")])
    assert [r["person_id"] for r in full["results"]] == ids and full["count"] == 24
    merged = next(r for r in full["results"] if r["person_id"] == person_id(loaded.duck, "u1"))
    assert merged == {
        "person_id": person_id(loaded.duck, "u1"),
        "distinct_id": "anon",
        "distinct_ids": ["anon", "u1"],
        "properties": {},
    }
    pages: list[dict[str, Any]] = []
    for offset in range(0, 30, 10):
        q = SegmentQuery(rule=rule, as_of=AS_OF, limit=10, offset=offset)
        page = run_segment(loaded.duck, q)
        assert page["count"] == 24 and page == run_segment(loaded.ch, q)
        pages += page["results"]
    assert pages == full["results"]
    for limit, offset in ((0, 0), (5, 100)):
        q = SegmentQuery(rule=rule, as_of=AS_OF, limit=limit, offset=offset)
        only = run_segment(loaded.duck, q)
        assert (only["count"], only["results"]) == (24, [])
        assert run_segment(loaded.ch, q) == only
    none = run_segment(loaded.duck, SegmentQuery(rule={"did": "refund"}, as_of=AS_OF))
    assert (none["count"], none["results"], none["as_of"]) == (0, [], "2026-03-10")


def test_invalid_rule_is_a_400_with_its_path(chdb_pool: ChdbPool) -> None:
    loaded = load_merged([Row("u1", "pay", datetime(2026, 3, 3))], chdb_pool)
    with pytest.raises(InvalidInput) as err:
        run_segment(loaded.duck, SegmentQuery(rule={"and": [{"did": "pay"}, {"didnt": "x"}]}))
    assert err.value.field == "rule.and[1]"


def _reference(world: World) -> Reference:
    frame = world.events.rename(columns={"person_id": "person"})
    people = dict(zip(world.persons["person_id"], world.persons["props"], strict=True))
    return Reference(frame, people, END)


def _members(world: World, rule: dict[str, Any]) -> list[str]:
    q = SegmentQuery(rule=rule, as_of=END, limit=100_000)
    duck = run_segment(world.duck, q)
    assert run_segment(world.ch, q) == duck
    assert duck["count"] == len(duck["results"])
    return [r["person_id"] for r in duck["results"]]


def test_demo_world_dormant_users(world: World) -> None:
    ref = _reference(world)
    # END is a Sunday: the week holding it is complete, as in the lifecycle query.
    assert END.weekday() == 6
    rule = {"lifecycle": "dormant", "interval": "week"}
    dormant = _members(world, rule)
    assert dormant == sorted(ref.eval(rule)) and len(dormant) > 20
    week = LifecycleQuery(interval="week", date_from=END, date_to=END)
    statuses = {r["status"]: r["values"][-1] for r in run_lifecycle(world.duck, week)["results"]}
    assert statuses["dormant"] == -len(dormant)
    for stage in ("new", "returning", "resurrecting"):
        members = _members(world, {"lifecycle": stage, "interval": "week"})
        assert members == sorted(ref.eval({"lifecycle": stage, "interval": "week"}))
        assert statuses[stage] == len(members)
    # 沉睡用户 (metrics.md): active before, nothing in the last 7 days.
    sleeping = {"and": [{"did": "$any"}, {"did_not": "$any", "in_last_days": 7}]}
    assert _members(world, sleeping) == sorted(ref.eval(sleeping)) != []


def test_demo_world_rfm_and_channel_segments(world: World) -> None:
    ref = _reference(world)
    rfm = run_rfm(world.duck, RfmQuery(as_of=END, limit=100_000))
    for name in ("重要价值客户", "general retain"):
        members = _members(world, {"rfm_segment": name})
        by_query = sorted(
            r["person_id"] for r in rfm["results"] if name in (r["segment"], r["segment_en"])
        )
        assert members == by_query == sorted(ref.eval({"rfm_segment": name})) != []
    rule = {
        "and": [
            {"person": "channel", "op": "eq", "value": "小红书"},
            {"did": "pay", "at_least": 2, "in_last_days": 30},
            {"not": {"did": "app_open", "in_last_days": 3}},
        ]
    }
    members = _members(world, rule)
    assert members == sorted(ref.eval(rule)) != []
    window = {"did": "view_item", "between": [(END - timedelta(days=9)).isoformat(), "2026-11-12"]}
    assert _members(world, window) == sorted(ref.eval(window)) != []


def test_a_static_segment_of_thousands_of_ids_runs_on_clickhouse(
    world: World, chdb_pool: ChdbPool
) -> None:
    """Thousands of inlined person ids pass ClickHouse's parser (the engine raises
    max_query_size, whose default refuses a query this long) and pick the same persons."""
    chdb_pool.session.query("SET max_query_size = 262144")  # the default, as a new session has
    ch = dataclasses.replace(world.ch, engine=ChdbEngine(chdb_pool.session, "world"))
    payers = sorted(set(world.events.loc[world.events["event"] == "pay", "person_id"]))
    gone = [str(uuid.UUID(int=i + 1)) for i in range(8_000)]  # merged away, say
    listed = tuple(sorted([*payers, *gone]))
    assert len(", ".join(f"'{p}'" for p in listed)) > 262_144
    saved = {7: Cohort(person_ids=listed)}
    rule = {"and": [{"cohort": 7}, {"did": "pay", "at_least": 2}]}
    q = SegmentQuery(rule=rule, as_of=END, limit=100_000)
    pays = world.events[world.events["event"] == "pay"].groupby("person_id").size()
    expected = sorted(pays[pays >= 2].index)
    assert 0 < len(expected) < len(payers)
    for ctx in (world.duck, ch):
        answer = run_segment(ctx, q, saved.get)
        assert [r["person_id"] for r in answer["results"]] == expected
        assert answer["count"] == len(expected)
