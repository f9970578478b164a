"""The query cache serves an answer again only while nothing it read has changed: the events (data
version), the day a default `as_of` stands for, and the saved segments it used (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from opsloop.analytics.cache import QueryCache
from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.rfm import RfmQuery
from opsloop.analytics.queries.segment import SegmentQuery
from opsloop.analytics.segments.service import (
    cohort_resolver,
    create_segment,
    create_static_segment,
    update_segment,
)
from opsloop.analytics.service import run_query
from opsloop.db import open_database
from opsloop.workspaces.service import create_workspace
from tests.analytics.logs import ChdbPool, Loaded, Row, load_log, person_id

AS_OF = date(2026, 3, 10)
ROWS = [
    Row("a", "pay", datetime(2026, 3, 1, 10), {"amount": 10}),
    Row("a", "pay", datetime(2026, 3, 9, 10), {"amount": 20}),
    Row("b", "pay", datetime(2026, 3, 8, 23, 59), {"amount": 5}),
    Row("c", "app_open", datetime(2026, 3, 9)),
    Row("d", "app_open", datetime(2026, 2, 1)),
]


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            assert create_workspace(s, "shop").id == 1  # the log's workspace
            yield s
    finally:
        db.close()


@pytest.fixture
def log(chdb_pool: ChdbPool) -> Loaded:
    return load_log(ROWS, chdb_pool)


class Clock:
    """What `QueryContext.today` answers, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, day: date) -> None:
        self.day = day
        monkeypatch.setattr(QueryContext, "today", lambda ctx: self.day)


def _persons(answer: dict[str, object]) -> list[str]:
    """The distinct ids of the answer's persons, sorted (answers list persons by id)."""
    return sorted(r["distinct_id"] for r in answer["results"])  # type: ignore[attr-defined, index]


def test_a_default_as_of_is_today_in_the_key(
    monkeypatch: pytest.MonkeyPatch, session: Session, log: Loaded
) -> None:
    clock = Clock(monkeypatch, date(2026, 3, 9))
    cache = QueryCache()
    ctx = dataclasses.replace(log.duck, cohorts=cohort_resolver(session, 1))
    paid_today = SegmentQuery(rule={"did": "pay", "in_last_days": 1})
    first = run_query(ctx, paid_today, cache)
    assert (first["as_of"], _persons(first), first["cached"]) == ("2026-03-09", ["a"], False)
    assert run_query(ctx, paid_today, cache)["cached"] is True
    clock.day = date(2026, 3, 10)  # midnight passed: nobody paid on 10 March
    second = run_query(ctx, paid_today, cache)
    assert (second["as_of"], _persons(second), second["cached"]) == ("2026-03-10", [], False)
    clock.day = date(2026, 3, 9)
    assert run_query(ctx, paid_today, cache) == {**first, "cached": True}
    # The same query with as_of given is the same request: it shares the answer.
    given = SegmentQuery(rule={"did": "pay", "in_last_days": 1}, as_of=date(2026, 3, 9))
    assert run_query(ctx, given, cache)["cached"] is True

    # RFM's recency counts to as_of: a day later, every recency is one more.
    rfm = RfmQuery()
    before = run_query(ctx, rfm, cache)
    clock.day = date(2026, 3, 10)
    after = run_query(ctx, rfm, cache)
    assert (before["as_of"], after["as_of"], after["cached"]) == ("2026-03-09", "2026-03-10", False)
    recency = {r["distinct_id"]: r["recency_days"] for r in before["results"]}
    assert recency == {"a": 0, "b": 1}  # last paid 9 March and 8 March (23:59 local)
    assert {r["distinct_id"]: r["recency_days"] for r in after["results"]} == {
        p: days + 1 for p, days in recency.items()
    }


def test_editing_a_saved_segment_invalidates_the_answers_that_used_it(
    session: Session, log: Loaded
) -> None:
    ids = {p: person_id(log.duck, p) for p in "abcd"}
    static = create_static_segment(session, 1, "picked", [ids["a"]])
    openers = create_segment(session, 1, "openers", rule={"did": "app_open"})
    nested = create_segment(session, 1, "nested", rule={"or": [{"cohort": static.id}]})
    cache = QueryCache()
    ctx = dataclasses.replace(log.duck, cohorts=cohort_resolver(session, 1))
    by_nested = SegmentQuery(rule={"cohort": nested.id}, as_of=AS_OF)
    no_segment = SegmentQuery(rule={"did": "pay"}, as_of=AS_OF)
    assert _persons(run_query(ctx, by_nested, cache)) == ["a"]
    assert _persons(run_query(ctx, no_segment, cache)) == ["a", "b"]
    assert run_query(ctx, by_nested, cache)["cached"] is True

    # A segment the answer did not use changes: the answer still holds.
    update_segment(session, 1, openers.id, name="app openers")
    assert run_query(ctx, by_nested, cache)["cached"] is True
    # The static list under the nested rule changes: recomputed, then cached again.
    update_segment(session, 1, static.id, person_ids=[ids["a"], ids["c"]])
    fresh = run_query(ctx, by_nested, cache)
    assert (_persons(fresh), fresh["cached"]) == (["a", "c"], False)
    assert run_query(ctx, by_nested, cache)["cached"] is True
    # The nested rule itself changes.
    update_segment(session, 1, nested.id, rule={"cohort": openers.id})
    fresh = run_query(ctx, by_nested, cache)
    assert (_persons(fresh), fresh["cached"]) == (["c", "d"], False)
    # Edits never touched answers that used no saved segment.
    assert run_query(ctx, no_segment, cache)["cached"] is True


def test_versions_change_on_every_edit_even_within_one_clock_tick(session: Session) -> None:
    segment = create_segment(session, 1, "payers", rule={"did": "pay"})
    segments = cohort_resolver(session, 1)
    seen = [segments.versions([segment.id])[segment.id]]
    for i in range(5):
        update_segment(session, 1, segment.id, description=f"edit {i}")
        seen.append(segments.versions([segment.id])[segment.id])
    assert len(set(seen)) == len(seen)
    cohort = segments(segment.id)
    assert cohort is not None and cohort.version == seen[-1]
    assert segments.versions([segment.id, 999]) == {segment.id: seen[-1]}
    other = create_workspace(session, "other").id
    assert cohort_resolver(session, other).versions([segment.id]) == {}
    assert cohort_resolver(session, other)(segment.id) is None
