"""Paths against a plain-Python reference (a loop over each person's ordered events), DuckDB against
ClickHouse on the same data, with ties broken by arrival and sessions cut by inactivity."""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from opsloop.analytics.clickhouse import export_parquet, load_parquet
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import ChdbEngine, DuckDbEngine
from opsloop.analytics.queries import paths_pass
from opsloop.analytics.queries.paths import PathsQuery, run_paths
from opsloop.events import IncomingEvent, open_event_store
from opsloop.events.schema import PERSON_ONLY_EVENTS
from opsloop.events.store import events_to_arrow
from tests.analytics.conftest import World
from tests.analytics.logs import ChdbPool

TZ = "Asia/Shanghai"
RECEIVED = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PathRow:
    person: str
    event: str
    local: datetime  # naive wall-clock time in TZ
    arrival: int = 0  # seconds after RECEIVED: the received_at that breaks timestamp ties
    uid: int = 0  # the event's uuid as an integer (ties of received_at); 0 = its position + 1
    props: dict[str, Any] | None = None


@dataclass(frozen=True)
class Event:
    person: str
    event: str
    local: datetime
    key: tuple[datetime, datetime, str]  # UTC time, received_at, uuid text
    props: dict[str, Any]


def load_paths_log(
    rows: Sequence[PathRow], pool: ChdbPool
) -> tuple[list[QueryContext], list[Event]]:
    """Rows into a fresh DuckDB store (one batch per arrival time) and into chdb."""
    folder = Path(tempfile.mkdtemp(prefix="opsloop-paths-"))
    store = open_event_store(folder / "events.duckdb")
    zone = ZoneInfo(TZ)
    events = []
    for i, r in enumerate(rows):
        uid = str(uuid.UUID(int=r.uid or i + 1))
        ts = r.local.replace(tzinfo=zone).astimezone(UTC)
        received = RECEIVED + timedelta(seconds=r.arrival)
        events.append(Event(r.person, r.event, r.local, (ts, received, uid), dict(r.props or {})))
    ordered = sorted(events, key=lambda e: e.key[1])
    for received, batch in groupby(ordered, key=lambda e: e.key[1]):
        incoming = [
            IncomingEvent(1, e.key[2], e.event, e.person, e.key[0], e.props, "test") for e in batch
        ]
        store.append_table(events_to_arrow(incoming, received), dedupe="none")
    load_parquet(pool.session, export_parquet(store.cursor(), folder / "parquet"), "paths_log")
    contexts = [
        QueryContext(1, TZ, DuckDbEngine(store)),
        QueryContext(1, TZ, ChdbEngine(pool.session, "paths_log")),
    ]
    return contexts, events


# -- the reference ---------------------------------------------------------------------------


def _paths_of(events: list[Event], q: dict[str, Any]) -> list[list[tuple[int, str]]]:
    """One person's paths as [(step, event), ...]."""
    gap = q.get("session_minutes")
    paths: list[list[Event]] = []
    for e in sorted(events, key=lambda e: e.key):
        if not paths or (
            gap is not None and e.key[0] - paths[-1][-1].key[0] >= timedelta(minutes=gap)
        ):
            paths.append([e])
        else:
            paths[-1].append(e)
    out = []
    depth = q["depth"]
    for path in paths:
        names = [e.event for e in path]
        if q.get("collapse_repeats"):
            names = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
        if q.get("start_event"):
            if q["start_event"] not in names:
                continue
            first = names.index(q["start_event"])
            out.append(list(enumerate(names[first : first + depth], start=1)))
        elif q.get("end_event"):
            if q["end_event"] not in names:
                continue
            last = names.index(q["end_event"])
            kept = names[max(0, last + 1 - depth) : last + 1]
            out.append(list(enumerate(kept, start=depth - len(kept) + 1)))
        else:
            out.append(list(enumerate(names[:depth], start=1)))
    return out


def reference(events: list[Event], q: dict[str, Any]) -> dict[str, Any]:
    names = q.get("events") or ["$any"]
    anchors = [n for n in (q.get("start_event"), q.get("end_event")) if n]
    allowed = None if "$any" in names else {*names, *anchors}
    chosen = [
        e
        for e in events
        if q["date_from"] <= e.local.date() <= q["date_to"]
        and (e.event in allowed if allowed is not None else e.event not in PERSON_ONLY_EVENTS)
        and all(e.props.get(f["property"]) == f["value"] for f in q.get("filters", []))
    ]
    nodes: dict[tuple[int, str], set[str]] = {}
    links: dict[tuple[int, str, str], set[str]] = {}
    persons = set()
    by_person: dict[str, list[Event]] = {}
    for e in chosen:
        by_person.setdefault(e.person, []).append(e)
    for person, own in by_person.items():
        for path in _paths_of(own, q):
            persons.add(person)
            for step, name in path:
                nodes.setdefault((step, name), set()).add(person)
            for (step, a), (_, b) in pairwise(path):
                links.setdefault((step, a, b), set()).add(person)
    kept = [(s, a, b, len(p)) for (s, a, b), p in links.items() if len(p) >= q.get("min_count", 1)]
    kept = sorted(kept, key=lambda x: (-x[3], x[0], x[1], x[2]))[: q.get("link_limit", 200)]
    kept.sort(key=lambda x: (x[0], -x[3], x[1], x[2]))
    ends = {(s, a) for s, a, _, _ in kept} | {(s + 1, b) for s, _, b, _ in kept}
    return {
        "kind": "paths",
        "persons": len(persons),
        "nodes": [
            {"name": f"{s}_{e}", "step": s, "event": e, "value": len(nodes[(s, e)])}
            for s, e in sorted(ends, key=lambda n: (n[0], -len(nodes[n]), n[1]))
        ],
        "links": [
            {"source": f"{s}_{a}", "target": f"{s + 1}_{b}", "value": v} for s, a, b, v in kept
        ],
    }


def check(contexts: list[QueryContext], events: list[Event], q: dict[str, Any]) -> dict[str, Any]:
    expected = reference(events, q)
    query = PathsQuery.model_validate(q)
    for ctx in contexts:
        assert run_paths(ctx, query) == expected, ctx.dialect.name
    return expected


# -- hand-picked logs --------------------------------------------------------------------------

DAY = date(2026, 3, 2)


def at(minutes: float) -> datetime:
    return datetime(2026, 3, 2, 10, 0) + timedelta(minutes=minutes)


def link_values(answer: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(x["source"], x["target"]): x["value"] for x in answer["links"]}


def test_paths_from_a_start_event(chdb_pool: ChdbPool) -> None:
    rows = [
        PathRow("a", "open", at(0)),
        PathRow("a", "view", at(1)),
        PathRow("a", "pay", at(2)),
        PathRow("a", "open", at(3)),  # only the first open starts the path
        PathRow("b", "view", at(0)),  # before b's first open: not on the path
        PathRow("b", "open", at(1)),
        PathRow("b", "view", at(2)),
        PathRow("c", "view", at(0)),  # no open: no path
    ]
    contexts, events = load_paths_log(rows, chdb_pool)
    answer = check(
        contexts, events, {"start_event": "open", "depth": 3, "date_from": DAY, "date_to": DAY}
    )
    assert answer["persons"] == 2
    assert link_values(answer) == {("1_open", "2_view"): 2, ("2_view", "3_pay"): 1}
    assert [n["name"] for n in answer["nodes"]] == ["1_open", "2_view", "3_pay"]


def test_paths_to_an_end_event_are_aligned_on_it(chdb_pool: ChdbPool) -> None:
    rows = [
        PathRow("a", "open", at(0)),
        PathRow("a", "view", at(1)),
        PathRow("a", "cart", at(2)),
        PathRow("a", "pay", at(3)),
        PathRow("b", "view", at(0)),
        PathRow("b", "pay", at(1)),
        PathRow("b", "pay", at(2)),
    ]
    contexts, events = load_paths_log(rows, chdb_pool)
    answer = check(
        contexts, events, {"end_event": "pay", "depth": 3, "date_from": DAY, "date_to": DAY}
    )
    assert link_values(answer) == {
        ("1_view", "2_cart"): 1,
        ("2_cart", "3_pay"): 1,
        ("2_view", "3_pay"): 1,
    }


def test_ties_are_broken_by_arrival_then_uuid(chdb_pool: ChdbPool) -> None:
    rows = [
        PathRow("a", "open", at(0)),
        PathRow("a", "x", at(1), arrival=5),
        PathRow("a", "y", at(1), arrival=3),  # same time, arrived earlier: comes first
        PathRow("b", "open", at(0)),
        PathRow("b", "x", at(1), uid=200),
        PathRow("b", "y", at(1), uid=100),  # same time and arrival, smaller uuid: first
    ]
    contexts, events = load_paths_log(rows, chdb_pool)
    answer = check(
        contexts, events, {"start_event": "open", "depth": 3, "date_from": DAY, "date_to": DAY}
    )
    assert link_values(answer) == {("1_open", "2_y"): 2, ("2_y", "3_x"): 2}


def test_ties_are_broken_alike_when_person_and_time_are_sorted_apart(
    chdb_pool: ChdbPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large workspaces sort (person, time) as two keys instead of one packed UBIGINT.
    monkeypatch.setattr(paths_pass, "PACKED_KEY_LIMIT", 0)
    test_ties_are_broken_by_arrival_then_uuid(chdb_pool)
    rng = random.Random(11)
    uids = rng.sample(range(1, 1000), 120)
    rows = [  # many equal times: 120 events on 40 minutes of two persons
        PathRow(
            rng.choice("pq"), rng.choice("ABC"), at(rng.randrange(40) * 20), rng.randrange(3), u
        )
        for u in uids
    ]
    contexts, events = load_paths_log(rows, chdb_pool)
    for anchor in ({"start_event": "A"}, {"end_event": "B"}, {}):
        q = {"depth": 3, "date_from": DAY, "date_to": DAY, "session_minutes": 15, **anchor}
        check(contexts, events, q)


def test_a_range_without_events_has_no_paths(chdb_pool: ChdbPool) -> None:
    contexts, events = load_paths_log([PathRow("a", "open", at(0))], chdb_pool)
    later = DAY + timedelta(days=3)
    answer = check(contexts, events, {"date_from": later, "date_to": later})
    assert (answer["persons"], answer["nodes"], answer["links"]) == (0, [], [])


def test_inactivity_starts_a_new_path_and_repeats_can_collapse(chdb_pool: ChdbPool) -> None:
    rows = [
        PathRow("a", "open", at(0)),
        PathRow("a", "view", at(1)),
        PathRow("a", "view", at(2)),
        PathRow("a", "open", at(32)),  # exactly 30 minutes idle: a new path
        PathRow("a", "pay", at(33)),
        PathRow("b", "open", at(0)),
        PathRow("b", "pay", at(29)),
    ]
    contexts, events = load_paths_log(rows, chdb_pool)
    q = {"depth": 3, "date_from": DAY, "date_to": DAY, "session_minutes": 30}
    answer = check(contexts, events, q)
    assert link_values(answer) == {
        ("1_open", "2_view"): 1,
        ("2_view", "3_view"): 1,
        ("1_open", "2_pay"): 2,
    }
    collapsed = check(contexts, events, {**q, "collapse_repeats": True})
    assert link_values(collapsed) == {("1_open", "2_view"): 1, ("1_open", "2_pay"): 2}
    whole = check(contexts, events, {**q, "session_minutes": None, "min_count": 1})
    assert ("3_view", "4_open") not in link_values(whole)  # depth 3 stops the path
    assert link_values(check(contexts, events, {**q, "min_count": 2})) == {("1_open", "2_pay"): 2}


def test_requests_the_user_can_get_wrong() -> None:
    base = {"date_from": DAY, "date_to": DAY}
    for bad in (
        {"start_event": "a", "end_event": "b"},
        {"depth": 1},
        {"depth": 11},
        {"min_count": 0},
    ):
        with pytest.raises(ValidationError):
            PathsQuery.model_validate({**base, **bad})


# -- random logs -------------------------------------------------------------------------------

BASE = datetime(2026, 3, 1, 23, 0)  # local; midnight is 60 minutes in


@st.composite
def path_logs(draw: st.DrawFn) -> list[PathRow]:
    """Persons with gaps of 0 (ties, broken by arrival and uuid), a minute, and exactly 15 or
    30 minutes (the session edges), from a start on either side of midnight. Drawn from a
    seeded `random.Random`: hypothesis's own draws favour tiny logs."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows = []
    uids = iter(rng.sample(range(1, 1000), 60))
    for person in "pqr"[: rng.randint(2, 3)]:
        t = rng.randint(0, 60)
        for _ in range(rng.randint(1, 15)):
            t += rng.choice([0, 0, 1, 1, 2, 15, 30, 31])
            event = rng.choice(["A", "B", "C", "D", "A", "B", "$set"])
            local = BASE + timedelta(minutes=t)
            rows.append(PathRow(person, event, local, arrival=rng.randint(0, 2), uid=next(uids)))
    rng.shuffle(rows)
    return rows


@st.composite
def path_queries(draw: st.DrawFn) -> dict[str, Any]:
    anchor = draw(st.sampled_from(["start_event", "end_event", None]))
    q: dict[str, Any] = {
        "depth": draw(st.integers(2, 4)),
        "date_from": draw(st.sampled_from([date(2026, 3, 1), date(2026, 3, 2)])),
        "date_to": date(2026, 3, 2),
        "session_minutes": draw(st.sampled_from([None, 30, 15])),
        "collapse_repeats": draw(st.booleans()),
        "min_count": draw(st.sampled_from([1, 1, 1, 2])),
        "link_limit": draw(st.sampled_from([200, 3])),
    }
    if anchor:
        q[anchor] = draw(st.sampled_from("ABC"))
    if draw(st.booleans()):
        q["events"] = draw(st.lists(st.sampled_from("ABCD"), min_size=2, max_size=3))
    return q


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=path_logs(), q=path_queries())
def test_random_logs_equal_the_reference_on_both_engines(
    chdb_pool: ChdbPool, rows: list[PathRow], q: dict[str, Any]
) -> None:
    contexts, events = load_paths_log(rows, chdb_pool)
    check(contexts, events, q)


# -- the demo world ----------------------------------------------------------------------------


def test_paths_from_app_open_in_the_demo_world(world: World) -> None:
    q = {
        "start_event": "app_open",
        "depth": 4,
        "date_from": date(2026, 11, 10),
        "date_to": date(2026, 11, 12),
        "session_minutes": 30,
    }
    cur = world.store.cursor()
    rows = cur.execute(
        "SELECT CAST(m.person_id AS VARCHAR), e.event, timezone(?, e.timestamp), e.timestamp,"
        " e.received_at, CAST(e.uuid AS VARCHAR) FROM events e JOIN person_distinct_ids m"
        " USING (workspace_id, distinct_id) WHERE timezone(?, e.timestamp) >= ?"
        " AND timezone(?, e.timestamp) < ?",
        [TZ, TZ, datetime(2026, 11, 10), TZ, datetime(2026, 11, 13)],
    ).fetchall()
    cur.close()
    events = [Event(p, ev, local, (ts, rcv, uid), {}) for p, ev, local, ts, rcv, uid in rows]
    expected = reference(events, q)
    query = PathsQuery.model_validate(q)
    assert run_paths(world.duck, query) == expected
    assert run_paths(world.ch, query) == expected
    assert expected["persons"] > 100 and expected["links"][0]["source"] == "1_app_open"
