"""Retention against a plain-Python reference on random logs and the demo world, both engines
equal, and the planted low-retention channel found."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.retention import RetentionQuery, run_retention
from opsloop.errors import InvalidInput
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.conftest import World
from tests.analytics.logs import ChdbPool, Row, load_log

# -- the reference: periods from calendar ordinals, persons in plain Python ---------------------


def period_key(grain: str, day: date) -> int:
    """Consecutive integers for consecutive periods (date.min is a Monday)."""
    if grain == "day":
        return day.toordinal()
    if grain == "week":
        return (day.toordinal() - 1) // 7
    return day.year * 12 + day.month - 1


def period_label(grain: str, key: int) -> str:
    if grain == "day":
        return date.fromordinal(key).isoformat()
    if grain == "week":
        return date.fromordinal(key * 7 + 1).isoformat()
    return f"{key // 12:04d}-{key % 12 + 1:02d}"


def period_end(grain: str, key: int) -> date:
    if grain == "day":
        return date.fromordinal(key)
    if grain == "week":
        return date.fromordinal(key * 7 + 7)
    y, m = divmod(key + 1, 12)
    return date(y, m + 1, 1) - timedelta(days=1)


def matches(event: str, wanted: str) -> bool:
    return event not in PERSON_ONLY_EVENTS if wanted == "$any" else event == wanted


def _passes(props: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """The filters these tests use: eq / neq on an event property."""
    for f in filters:
        value = props.get(f["property"])
        if (f["op"] == "eq") != (value is not None and str(value) == f["value"]):
            return False
    return True


def _first(rows: list[tuple[datetime, Any]]) -> Any:
    """The breakdown value of the earliest row; at the same instant the smallest, None last."""
    return min(rows, key=lambda r: (r[0], r[1] is None, r[1] or ""))[1]


def reference(frame: pd.DataFrame, q: dict[str, Any], person_bv: dict[str, Any] | None = None):
    grain, n = q["period"], q["periods"]
    filters, breakdown = q.get("filters", []), q.get("breakdown")
    lo, hi = period_key(grain, q["date_from"]), period_key(grain, q["date_to"])
    last = max(frame["local"]).date()
    starts: dict[tuple[str, int], list[tuple[datetime, Any]]] = defaultdict(list)
    returns: dict[str, set[int]] = defaultdict(set)
    for person, event, local, props in zip(
        frame["person"], frame["event"], frame["local"], frame["props"], strict=True
    ):
        if not _passes(props, filters):
            continue
        key = period_key(grain, local.date())
        if matches(event, q.get("start_event", "$any")):
            bv = person_bv.get(person) if person_bv is not None else props.get(breakdown)
            starts[(person, key)].append((local.to_pydatetime(), bv if breakdown else None))
        if matches(event, q.get("return_event", "$any")):
            returns[person].add(key)
    members: list[tuple[str, int, Any]] = []
    if q.get("cohort", "first_event") == "first_event":
        firsts: dict[str, int] = {}
        for person, key in starts:
            firsts[person] = min(firsts.get(person, key), key)
        members = [(p, c, _first(starts[(p, c)])) for p, c in firsts.items() if lo <= c <= hi]
    else:
        members = [(p, c, _first(rows)) for (p, c), rows in starts.items() if lo <= c <= hi]
    cells: dict[tuple[Any, int], list[int]] = {}
    for bv in {m[2] for m in members} if breakdown else {None}:
        for c in range(lo, hi + 1):
            cells[(bv, c)] = [0] * (n + 1)
    mode = q.get("mode", "on")
    for person, c, bv in members:
        came = {p - c for p in returns[person] if c < p <= c + n}
        row = cells[(bv, c)]
        row[0] += 1
        for k in range(1, n + 1):
            hit = {
                "on": k in came,
                "within": any(j <= k for j in came),
                "unbounded": any(j >= k for j in came),
            }[mode]
            row[k] += hit
    out = []
    for (bv, c), values in cells.items():
        shown = [
            v if k == 0 or period_end(grain, c + k) <= last else None for k, v in enumerate(values)
        ]
        out.append((bv, period_label(grain, c), values[0], shown))
    return sorted(out, key=lambda r: (str(r[0]), r[1]))


def engine_rows(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = [(r["breakdown_value"], r["cohort"], r["size"], r["values"]) for r in answer["results"]]
    return sorted(rows, key=lambda r: (str(r[0]), r[1]))


def run_both(loaded_duck: Any, loaded_ch: Any, q: dict[str, Any]) -> dict[str, Any]:
    query = RetentionQuery.model_validate(q)
    answer = run_retention(loaded_duck, query)
    assert run_retention(loaded_ch, query) == answer
    return answer


# -- hand-made logs ----------------------------------------------------------------------------


def test_first_start_before_the_range_and_unfinished_periods(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("early", "sign_up", datetime(2026, 2, 27, 12)),  # first start before the range
        Row("early", "sign_up", datetime(2026, 3, 2, 9)),
        Row("early", "open", datetime(2026, 3, 3, 9)),
        Row("a", "sign_up", datetime(2026, 3, 1, 0, 0)),  # local midnight: March 1st
        Row("a", "open", datetime(2026, 3, 2, 23, 59, 59)),
        Row("a", "open", datetime(2026, 3, 4, 0, 0)),
        Row("b", "sign_up", datetime(2026, 2, 28, 23, 59, 59)),  # the day before
        Row("b", "open", datetime(2026, 3, 1, 0, 0)),
        Row("c", "sign_up", datetime(2026, 3, 2, 10)),
        Row("c", "$set", datetime(2026, 3, 3, 10)),  # profile-only: not activity
        Row("c", "open", datetime(2026, 3, 5, 10)),
    ]
    loaded = load_log(rows, chdb_pool)
    q = {
        "start_event": "sign_up",
        "return_event": "$any",
        "period": "day",
        "periods": 3,
        "date_from": date(2026, 3, 1),
        "date_to": date(2026, 3, 2),
    }
    answer = run_both(loaded.duck, loaded.ch, q)
    assert answer["last_day"] == "2026-03-05"
    assert engine_rows(answer) == [
        (None, "2026-03-01", 1, [1, 1, 0, 1]),
        (None, "2026-03-02", 1, [1, 0, 0, 1]),
    ]
    assert answer["summary"][0]["rates"] == [1.0, 0.5, 0.0, 1.0]
    within = run_both(loaded.duck, loaded.ch, {**q, "mode": "within"})
    assert engine_rows(within) == [
        (None, "2026-03-01", 1, [1, 1, 1, 1]),
        (None, "2026-03-02", 1, [1, 0, 0, 1]),
    ]
    unbounded = run_both(loaded.duck, loaded.ch, {**q, "mode": "unbounded"})
    assert engine_rows(unbounded) == [
        (None, "2026-03-01", 1, [1, 1, 1, 1]),
        (None, "2026-03-02", 1, [1, 1, 1, 1]),
    ]
    recurring = run_both(loaded.duck, loaded.ch, {**q, "cohort": "any_start", "periods": 4})
    assert engine_rows(recurring) == [
        (None, "2026-03-01", 1, [1, 1, 0, 1, 0]),
        (None, "2026-03-02", 2, [2, 1, 0, 1, None]),
    ]
    for case in (q, {**q, "mode": "within"}, {**q, "cohort": "any_start", "periods": 4}):
        expected = reference(loaded.frame, case)
        assert engine_rows(run_both(loaded.duck, loaded.ch, case)) == expected


def test_breakdown_ties_and_limit(chdb_pool: ChdbPool) -> None:
    at = datetime(2026, 5, 4, 8)
    rows = [
        Row("a", "go", at, {"ch": "y"}),
        Row("a", "go", at, {"ch": "x"}),  # same instant: the smaller value wins
        Row("b", "go", at),
        Row("b", "go", at, {"ch": "z"}),  # a value beats a missing one
        Row("c", "go", at + timedelta(days=1), {"ch": "w"}),
        Row("c", "go", at + timedelta(days=8), {"ch": "w"}),
        Row("d", "other", at + timedelta(days=30)),  # data after the last period reported
    ]
    loaded = load_log(rows, chdb_pool)
    q = {
        "start_event": "go",
        "return_event": "go",
        "period": "week",
        "periods": 1,
        "date_from": date(2026, 5, 4),
        "date_to": date(2026, 5, 4),
        "breakdown": "ch",
    }
    answer = run_both(loaded.duck, loaded.ch, q)
    assert engine_rows(answer) == [
        ("w", "2026-05-04", 1, [1, 1]),
        ("x", "2026-05-04", 1, [1, 0]),
        ("z", "2026-05-04", 1, [1, 0]),
    ]
    assert engine_rows(answer) == reference(loaded.frame, q)
    folded = run_both(loaded.duck, loaded.ch, {**q, "breakdown_limit": 1})
    assert engine_rows(folded) == [
        ("$other", "2026-05-04", 2, [2, 0]),
        ("w", "2026-05-04", 1, [1, 1]),
    ]


def test_a_person_with_several_distinct_ids_counts_once(chdb_pool: ChdbPool) -> None:
    day = datetime(2026, 4, 6, 9)
    rows = [
        Row("anon1", "sign_up", day, {"ch": "x"}),  # the person's first start: x
        Row("u1", "sign_up", day + timedelta(hours=1), {"ch": "a"}),
        Row("anon1", "open", day + timedelta(days=1)),  # both ids back on day 1
        Row("u1", "open", day + timedelta(days=1, hours=2)),
        Row("u1", "open", day + timedelta(days=2)),
        Row("anon2", "sign_up", day, {"ch": "z"}),  # two ids start at the same instant:
        Row("u2", "sign_up", day, {"ch": "y"}),  # the smaller value, y
        Row("anon2", "open", day + timedelta(days=2)),
        Row("u2", "open", day + timedelta(days=2)),
        Row("solo", "sign_up", day + timedelta(days=1)),
    ]
    loaded = load_log(rows, chdb_pool, merges=[("anon1", "u1"), ("anon2", "u2")])
    q = {
        "start_event": "sign_up",
        "return_event": "$any",
        "period": "day",
        "periods": 2,
        "date_from": date(2026, 4, 6),
        "date_to": date(2026, 4, 7),
    }
    assert engine_rows(run_both(loaded.duck, loaded.ch, q)) == [
        (None, "2026-04-06", 2, [2, 1, 2]),
        (None, "2026-04-07", 1, [1, 0, None]),
    ]
    by_ch = {**q, "breakdown": "ch"}
    assert engine_rows(run_both(loaded.duck, loaded.ch, by_ch)) == [
        (None, "2026-04-06", 0, [0, 0, 0]),
        (None, "2026-04-07", 1, [1, 0, None]),
        ("x", "2026-04-06", 1, [1, 1, 1]),
        ("x", "2026-04-07", 0, [0, 0, None]),
        ("y", "2026-04-06", 1, [1, 0, 1]),
        ("y", "2026-04-07", 0, [0, 0, None]),
    ]
    for case in (q, by_ch, {**q, "cohort": "any_start", "mode": "within"}):
        assert engine_rows(run_both(loaded.duck, loaded.ch, case)) == reference(loaded.frame, case)


def test_bad_ranges_are_invalid_input(world: World) -> None:
    q = RetentionQuery(date_from=date(2026, 11, 2), date_to=date(2026, 11, 1))
    with pytest.raises(InvalidInput) as backwards:
        run_retention(world.duck, q)
    assert backwards.value.field == "date_to"
    q = RetentionQuery(date_from=date(2024, 1, 1), date_to=date(2026, 6, 1), period="month")
    with pytest.raises(InvalidInput) as too_long:
        run_retention(world.duck, q.model_copy(update={"periods": 12}))
    assert too_long.value.field == "periods"
    longest = {**q.model_dump(), "periods": 6}
    assert engine_rows(run_both(world.duck, world.ch, longest)) == reference(
        _world_frame(world), longest
    )


# -- random logs -------------------------------------------------------------------------------

BASE = date(2026, 1, 26)
SPAN = {"day": 10, "week": 45, "month": 120}  # days of log for each period size
TIMES = st.one_of(
    st.sampled_from([time(0, 0), time(23, 59, 59), time(0, 0, 1)]),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
)


# Merged persons: one person sending under several distinct_ids, often on the same day.
MERGES = st.sampled_from([(), (("g", "a"),), (("g", "a"), ("f", "a")), (("b", "c"),)])
Case = tuple[list[Row], list[dict[str, Any]], tuple[tuple[str, str], ...]]


@st.composite
def logs_and_queries(draw: st.DrawFn) -> Case:
    """A random log and two random queries over it (loading a log costs more than a query)."""
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
        st.sampled_from([None, "x", "y", "z"]),
    )
    rows = draw(st.lists(row, min_size=1, max_size=40))
    queries = []
    for _ in range(2):
        first = draw(st.integers(0, span))
        last = draw(st.integers(first, span))
        q: dict[str, Any] = {
            "start_event": draw(st.sampled_from(["open", "buy", "$any"])),
            "return_event": draw(st.sampled_from(["open", "buy", "$any"])),
            "period": grain,
            "periods": draw(st.integers(1, 4)),
            "date_from": BASE + timedelta(days=first),
            "date_to": BASE + timedelta(days=last),
            "mode": draw(st.sampled_from(["on", "within", "unbounded"])),
            "cohort": draw(st.sampled_from(["first_event", "any_start"])),
        }
        if draw(st.booleans()):
            q["breakdown"] = "ch"
        if draw(st.booleans()):
            q["filters"] = [{"property": "ch", "op": "neq", "value": "z"}]
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
        answer = run_both(loaded.duck, loaded.ch, q)
        assert engine_rows(answer) == reference(loaded.frame, q), q


# -- the demo world ----------------------------------------------------------------------------


def _world_frame(world: World) -> pd.DataFrame:
    e = world.events
    return pd.DataFrame(
        {"person": e["person_id"], "event": e["event"], "local": e["local"], "props": e["props"]}
    )


@pytest.mark.parametrize(
    "case",
    [
        {"period": "day", "periods": 7, "start_event": "sign_up", "return_event": "$any"},
        {"period": "week", "periods": 2, "start_event": "$any", "return_event": "pay"},
        {
            "period": "day",
            "periods": 3,
            "cohort": "any_start",
            "mode": "within",
            "breakdown": "platform",
        },
    ],
    ids=["day", "week", "recurring"],
)
def test_world_equals_the_reference(world: World, case: dict[str, Any]) -> None:
    q = {"date_from": date(2026, 10, 26), "date_to": date(2026, 11, 8), **case}
    answer = run_both(world.duck, world.ch, q)
    assert engine_rows(answer) == reference(_world_frame(world), q)


def test_world_person_filter_equals_the_reference(world: World) -> None:
    """A person property filter (read once per person and period) with an event breakdown."""
    channel = world.persons["props"].map(lambda p: p.get("channel"))
    chosen = channel.value_counts().index[0]
    q = {
        "period": "day",
        "periods": 3,
        "start_event": "sign_up",
        "return_event": "$any",
        "date_from": date(2026, 10, 26),
        "date_to": date(2026, 11, 8),
        "breakdown": "platform",
        "filters": [{"property": "person.channel", "op": "eq", "value": chosen}],
    }
    answer = run_both(world.duck, world.ch, q)
    members = set(world.persons["person_id"][channel == chosen])
    frame = _world_frame(world)
    frame = frame[frame["person"].isin(members)]
    assert engine_rows(answer) == reference(frame, {**q, "filters": []})
    assert 0 < sum(r["size"] for r in answer["results"]) < len(world.persons)


@pytest.mark.parametrize("breakdown", ["channel", "person.channel"])
def test_the_low_retention_channel_is_found(world: World, breakdown: str) -> None:
    truths = {t["id"]: t for t in world.truths["truths"]}  # type: ignore[index]
    truth = truths["low_retention_channel"]
    where = truth["where"]
    q = {
        "start_event": "sign_up",
        "return_event": "$any",
        "period": "day",
        "periods": 1,
        "date_from": date.fromisoformat(where["cohort_date_from"]),
        "date_to": date.fromisoformat(where["cohort_date_to"]),
        "breakdown": breakdown,
    }
    answer = run_both(world.duck, world.ch, q)
    rates = {s["breakdown_value"]: s["rates"][1] for s in answer["summary"]}
    low = rates[where["channel"]]
    others = sum(rates[c] for c in where["others"]) / len(where["others"])
    assert abs(low - truth["expected"]["rate"]) <= truth["tolerance"]
    assert abs(others - truth["expected"]["others_average"]) <= truth["tolerance"]
    assert abs(low - truth["planted"]["rate"]) <= 0.02
    by_channel = truth["details"]["by_channel"]
    assert {s["breakdown_value"]: s["size"] for s in answer["summary"]} == {
        c: v["new_users"] for c, v in by_channel.items()
    }
    if breakdown == "channel":
        persons = world.persons.set_index("person_id")["props"].map(lambda p: p.get("channel"))
        frame = _world_frame(world)
        expected = reference(frame, {**q, "breakdown": "person.channel"}, persons.to_dict())
        assert engine_rows(answer) == expected
