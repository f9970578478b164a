"""Lifecycle against a plain-Python reference on random logs and the demo world, both engines
equal."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.lifecycle import LifecycleQuery, run_lifecycle
from opsloop.errors import InvalidInput
from tests.analytics.conftest import World
from tests.analytics.logs import ChdbPool, Row, load_log
from tests.analytics.test_retention import (
    BASE,
    MERGES,
    SPAN,
    TIMES,
    _passes,
    matches,
    period_key,
    period_label,
)


def reference(frame: pd.DataFrame, q: dict[str, Any]) -> dict[str, tuple[list[str], list[int]]]:
    """status -> (dates, values), from each person's set of active periods."""
    grain = q.get("interval", "day")
    lo, hi = period_key(grain, q["date_from"]), period_key(grain, q["date_to"])
    active: dict[str, set[int]] = defaultdict(set)
    for person, event, local, props in zip(
        frame["person"], frame["event"], frame["local"], frame["props"], strict=True
    ):
        if matches(event, q.get("event", "$any")) and _passes(props, q.get("filters", [])):
            active[person].add(period_key(grain, local.date()))
    out: dict[str, list[int]] = {s: [] for s in ("new", "returning", "resurrecting", "dormant")}
    for p in range(lo, hi + 1):
        now = [s for s in active.values() if p in s]
        out["new"].append(sum(min(s) == p for s in now))
        out["returning"].append(sum(p - 1 in s for s in now))
        out["resurrecting"].append(sum(p - 1 not in s and min(s) < p for s in now))
        out["dormant"].append(-sum(p - 1 in s and p not in s for s in active.values()))
    dates = [period_label(grain, p) for p in range(lo, hi + 1)]
    return {status: (dates, values) for status, values in out.items()}


def run_both(duck: Any, ch: Any, q: dict[str, Any]) -> dict[str, tuple[list[str], list[int]]]:
    query = LifecycleQuery.model_validate(q)
    answer = run_lifecycle(duck, query)
    assert run_lifecycle(ch, query) == answer
    assert [r["status"] for r in answer["results"]] == [
        "new",
        "returning",
        "resurrecting",
        "dormant",
    ]
    return {r["status"]: (r["dates"], r["values"]) for r in answer["results"]}


def test_statuses_by_hand(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("old", "open", datetime(2026, 2, 20, 9)),  # active only long before the range
        Row("gone", "open", datetime(2026, 2, 28, 23, 59, 59)),  # the day before the range
        Row("a", "open", datetime(2026, 3, 1, 0, 0)),  # local midnight
        Row("a", "open", datetime(2026, 3, 1, 0, 0)),  # repeated
        Row("a", "open", datetime(2026, 3, 2, 12)),
        Row("b", "open", datetime(2026, 2, 10, 8)),
        Row("b", "open", datetime(2026, 3, 2, 0, 0)),  # back after a long gap
        Row("b", "$set", datetime(2026, 3, 3, 8)),  # profile-only: not activity
        Row("b", "open", datetime(2026, 3, 4, 8)),
    ]
    loaded = load_log(rows, chdb_pool)
    q = {
        "event": "$any",
        "interval": "day",
        "date_from": date(2026, 3, 1),
        "date_to": date(2026, 3, 4),
    }
    dates = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert run_both(loaded.duck, loaded.ch, q) == {
        "new": (dates, [1, 0, 0, 0]),
        "returning": (dates, [0, 1, 0, 0]),
        "resurrecting": (dates, [0, 1, 0, 1]),
        "dormant": (dates, [-1, 0, -2, 0]),
    }
    assert run_both(loaded.duck, loaded.ch, q) == reference(loaded.frame, q)
    weekly = {**q, "interval": "week", "date_from": date(2026, 2, 23)}
    week_dates = ["2026-02-23", "2026-03-02"]
    assert run_both(loaded.duck, loaded.ch, weekly) == {
        "new": (week_dates, [2, 0]),  # gone, and a on Sunday March 1st
        "returning": (week_dates, [0, 1]),  # a
        "resurrecting": (week_dates, [0, 1]),  # b
        "dormant": (week_dates, [-1, -1]),  # old (week of Feb 16th), gone
    }


def test_a_person_with_several_distinct_ids_counts_once(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("anon", "open", datetime(2026, 3, 1, 8)),  # both ids of one person, the same day
        Row("u", "open", datetime(2026, 3, 1, 20)),
        Row("anon", "open", datetime(2026, 3, 2, 8)),
        Row("u", "open", datetime(2026, 3, 2, 9)),
        Row("u", "open", datetime(2026, 3, 4, 9)),  # back after a day away
        Row("other", "open", datetime(2026, 3, 2, 9)),
    ]
    loaded = load_log(rows, chdb_pool, merges=[("anon", "u")])
    q = {"event": "open", "date_from": date(2026, 3, 1), "date_to": date(2026, 3, 4)}
    dates = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert run_both(loaded.duck, loaded.ch, q) == {
        "new": (dates, [1, 1, 0, 0]),
        "returning": (dates, [0, 1, 0, 0]),
        "resurrecting": (dates, [0, 0, 0, 1]),
        "dormant": (dates, [0, 0, -2, 0]),
    }
    assert run_both(loaded.duck, loaded.ch, q) == reference(loaded.frame, q)


def test_bad_range_is_invalid_input(chdb_pool: ChdbPool) -> None:
    loaded = load_log([Row("a", "open", datetime(2026, 3, 1, 9))], chdb_pool)
    q = LifecycleQuery(date_from=date(2026, 3, 2), date_to=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        run_lifecycle(loaded.duck, q)


Case = tuple[list[Row], list[dict[str, Any]], tuple[tuple[str, str], ...]]


@st.composite
def logs_and_queries(draw: st.DrawFn) -> Case:
    grain = draw(st.sampled_from(["day", "week", "month"]))
    span = SPAN[grain]
    row = st.builds(
        lambda person, event, day, t, ch: Row(
            person,
            event,
            datetime.combine(BASE + timedelta(days=day), t),
            None if ch is None else {"ch": ch},
        ),
        st.sampled_from("abcdefg"),
        st.sampled_from(["open", "buy", "open", "$set"]),
        st.integers(0, span),
        TIMES,
        st.sampled_from([None, "x", "z"]),
    )
    rows = draw(st.lists(row, min_size=1, max_size=40))
    queries = []
    for _ in range(2):
        first = draw(st.integers(0, span))
        q: dict[str, Any] = {
            "event": draw(st.sampled_from(["open", "buy", "$any"])),
            "interval": grain,
            "date_from": BASE + timedelta(days=first),
            "date_to": BASE + timedelta(days=draw(st.integers(first, span))),
        }
        if draw(st.booleans()):
            q["filters"] = [{"property": "ch", "op": "eq", "value": "x"}]
        queries.append(q)
    return rows, queries, draw(MERGES)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=logs_and_queries())
def test_random_logs_equal_the_reference_on_both_engines(chdb_pool: ChdbPool, case: Case) -> None:
    rows, queries, merges = case
    loaded = load_log(rows, chdb_pool, merges=merges)
    for q in queries:
        assert run_both(loaded.duck, loaded.ch, q) == reference(loaded.frame, q), q


@pytest.mark.parametrize(
    "case",
    [
        {"event": "$any", "interval": "day"},
        {"event": "app_open", "interval": "week"},
        {"event": "pay", "interval": "month"},
    ],
    ids=["day", "week", "month"],
)
def test_world_equals_the_reference(world: World, case: dict[str, Any]) -> None:
    q = {"date_from": date(2026, 10, 20), "date_to": date(2026, 11, 15), **case}
    e = world.events
    frame = pd.DataFrame(
        {"person": e["person_id"], "event": e["event"], "local": e["local"], "props": e["props"]}
    )
    assert run_both(world.duck, world.ch, q) == reference(frame, q)


def test_world_person_filter_equals_the_reference(world: World) -> None:
    channel = world.persons["props"].map(lambda p: p.get("channel"))
    chosen = channel.value_counts().index[-1]
    filters = [{"property": "person.channel", "op": "eq", "value": chosen}]
    q = {"event": "$any", "date_from": date(2026, 10, 20), "date_to": date(2026, 11, 15)}
    members = set(world.persons["person_id"][channel == chosen])
    e = world.events[world.events["person_id"].isin(members)]
    frame = pd.DataFrame(
        {"person": e["person_id"], "event": e["event"], "local": e["local"], "props": e["props"]}
    )
    answer = run_both(world.duck, world.ch, {**q, "filters": filters})
    assert answer == reference(frame, q)
    assert 0 < sum(answer["new"][1]) < len(world.persons)
