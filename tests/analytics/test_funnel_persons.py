"""The persons behind a funnel step (`funnel_persons`) on the demo world against the plain-Python
funnel reference, on both engines, and saved as a static segment whose members read back equal
to it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsloop.analytics.queries.funnel import FunnelQuery, run_funnel
from opsloop.analytics.queries.funnel_persons import FunnelPersonsQuery, run_funnel_persons
from opsloop.analytics.segments.saving import persons_of, save_query_persons
from opsloop.analytics.segments.service import members
from opsloop.analytics.service import parse_query
from opsloop.db import open_database
from opsloop.errors import InvalidInput
from opsloop.workspaces.service import create_workspace
from tests.analytics.conftest import World
from tests.analytics.test_funnel import reference_people, world_frame

STEPS = ["view_item", "add_to_cart", "checkout", "pay"]
FUNNEL: dict[str, Any] = {
    "steps": [{"event": e} for e in STEPS],
    "window_seconds": 3600,
    "date_from": date(2026, 11, 1),
    "date_to": date(2026, 11, 7),
    "breakdown": "channel",
    "breakdown_limit": 3,
}


@pytest.fixture(scope="module")
def people(world: World) -> dict[str, tuple[Any, int, list[Any]]]:
    """person -> (first-touch channel, depth, ...) by the reference, for FUNNEL."""
    frame = world_frame(world, FUNNEL["date_from"], FUNNEL["date_to"], STEPS)
    return reference_people(frame, FUNNEL)


def expected(
    people: dict[str, tuple[Any, int, list[Any]]], step: int, dropped: bool, value: Any = "*"
) -> list[str]:
    """The reference's persons at a step; value "*" = every value, "$other" = those past the
    breakdown limit (values ranked by step-1 persons)."""
    counts: dict[Any, int] = {}
    for bv, _, _ in people.values():
        counts[bv] = counts.get(bv, 0) + 1
    ranked = sorted(counts, key=lambda v: (-counts[v], v is None, str(v)))
    kept = ranked[: FUNNEL["breakdown_limit"]]
    out = []
    for person, (bv, depth, _) in people.items():
        if value == "$other" and bv in kept:
            continue
        if value not in ("*", "$other") and bv != value:
            continue
        if depth == step if dropped else depth >= step:
            out.append(person)
    return sorted(out)


def _query(**fields: Any) -> FunnelPersonsQuery:
    return FunnelPersonsQuery.model_validate({**FUNNEL, "limit": 100_000, **fields})


def test_each_step_and_breakdown_value_equals_the_reference(
    world: World, people: dict[str, tuple[Any, int, list[Any]]]
) -> None:
    funnel = run_funnel(world.duck, FunnelQuery.model_validate(FUNNEL))
    lines = {r["breakdown_value"]: [s["count"] for s in r["steps"]] for r in funnel["results"]}
    assert "$other" in lines and len(lines) == 4
    props = dict(zip(world.persons["person_id"], world.persons["props"], strict=True))
    # Every step, reached or dropped, without a breakdown; then each value at one step.
    cases = [
        (None, step, dropped)
        for step in range(1, len(STEPS) + 1)
        for dropped in ((False, True) if step < len(STEPS) else (False,))
    ]
    cases += [(value, 2, True) for value in lines]
    for value, step, dropped in cases:
        fields = {"breakdown_value": value} if value is not None else {"breakdown": None}
        q = _query(step=step, dropped=dropped, **fields)
        want = expected(people, step, dropped, "*" if value is None else value)
        answer = run_funnel_persons(world.duck, q)
        got = [r["person_id"] for r in answer["results"]]
        assert got == want, (value, step, dropped)
        if value is not None:  # the count agrees with the funnel's own answer
            counts = lines[value]
            assert answer["count"] == counts[step - 1] - (counts[step] if dropped else 0)
        assert answer["count"] == len(want)
        assert [r["properties"] for r in answer["results"]] == [props[p] for p in got]
        assert run_funnel_persons(world.ch, q) == answer


def test_pages_join_up_to_the_whole_list(
    world: World, people: dict[str, tuple[Any, int, list[Any]]]
) -> None:
    want = expected(people, 1, True)
    assert len(want) > 120
    seen: list[str] = []
    for offset in range(0, len(want) + 100, 100):
        q = _query(step=1, dropped=True, breakdown=None, limit=100, offset=offset)
        page = run_funnel_persons(world.ch, q)
        assert page["count"] == len(want)
        seen += [r["person_id"] for r in page["results"]]
    assert seen == want
    head = run_funnel_persons(world.duck, _query(step=1, dropped=True, breakdown=None, limit=0))
    assert (head["count"], head["results"]) == (len(want), [])
    q = _query(step=1, dropped=True, breakdown=None)
    assert persons_of(world.duck, q) == want == persons_of(world.ch, q)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"step": 5}, "step"),
        ({"step": 4, "dropped": True}, "step"),
        ({"step": 1, "breakdown": None, "breakdown_value": "小红书"}, "breakdown_value"),
    ],
)
def test_steps_outside_the_funnel_are_400s(
    world: World, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        run_funnel_persons(world.duck, _query(**fields))
    assert err.value.field == field
    body = {"kind": "funnel_persons", **FUNNEL, "steps": STEPS, "step": 0}
    with pytest.raises(InvalidInput) as err:
        parse_query({**body, "steps": FUNNEL["steps"]})
    assert err.value.field == "step"


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            assert create_workspace(s, "world").id == 1  # the world's workspace
            yield s
    finally:
        db.close()


def test_dropped_users_saved_as_a_segment_read_back_equal(
    world: World, people: dict[str, tuple[Any, int, list[Any]]], session: Session
) -> None:
    q = _query(step=2, dropped=True, breakdown_value=None, breakdown=None)
    info = save_query_persons(session, world.duck, "加购未结算", q, description="11月第一周")
    want = expected(people, 2, True)
    assert (info.kind, info.size, info.description) == ("static", len(want), "11月第一周")
    for ctx in (world.duck, world.ch):
        page = members(session, ctx, info.id, as_of=date(2026, 11, 15), limit=100_000)
        assert [r["person_id"] for r in page["results"]] == want
        assert page["count"] == len(want) and page["segment"]["name"] == "加购未结算"
    trends = parse_query({"kind": "trends", "series": [{"event": "pay"}], **_dates()})
    with pytest.raises(InvalidInput) as err:
        save_query_persons(session, world.duck, "x", trends)
    assert err.value.field == "from_query.kind"
    assert "funnel_persons, segment" in err.value.message


def _dates() -> dict[str, str]:
    return {"date_from": "2026-11-01", "date_to": "2026-11-07"}
