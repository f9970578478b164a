"""The funnel's ordered pass in parts: on random items in any order, every number of parts
gives the rows of a plain-Python chain reference (the same rows as one part, bit for bit); and
through the engine, DuckDB with 1, 2 or 4 threads (the pass runs in that many parts) answers
funnels and funnel people as the reference does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.funnel import FunnelQuery, funnel_people, run_funnel
from opsloop.analytics.queries.funnel_pass import ordered_pass
from tests.analytics.logs import ChdbPool, Row, load_log, person_id
from tests.analytics.test_funnel import (
    BASE,
    engine_lines,
    funnels,
    logs,
    reference,
    reference_people,
)

Rows = list[tuple[int, int, list[int | None]]]


def chain_reference(items: list[tuple[int, int, int]], k_steps: int, window: int) -> Rows:
    """(pn, depth, µs into steps 2..K) per person with a step 1, from (pn, time, step) items,
    literally: the set of step-1 times from which a chain of strictly later items reaches each
    item within the window."""
    out = []
    for p in sorted({pn for pn, _, _ in items}):
        mine = [(t, k) for pn, t, k in items if pn == p]
        levels: list[list[tuple[int, set[int]]]] = [[(t, {t}) for t, k in mine if k == 0]]
        if not levels[0]:
            continue
        for k in range(1, k_steps):
            levels.append(
                [
                    (t, {s for t0, ss in levels[-1] if t0 < t for s in ss if t - s <= window})
                    for t, kk in mine
                    if kk == k
                ]
            )
        depth = max(k + 1 for k, level in enumerate(levels) if any(ss for _, ss in level))
        into: list[int | None] = []
        for k in range(1, k_steps):
            reached = [t for t, ss in levels[k] if ss]
            if not reached:
                into.append(None)
                continue
            first = min(reached)
            before = [
                t0
                for t0, ss in levels[k - 1]
                if t0 < first and any(first - s <= window for s in ss)
            ]
            into.append(first - max(before))
        out.append((p, depth, into))
    return out


def pass_rows(items: list[tuple[int, int, int]], k_steps: int, window: int, parts: int) -> Rows:
    pn = np.array([p for p, _, _ in items], dtype=np.int64)
    x = np.array([t * 16 + (k_steps - 1 - k) for _, t, k in items], dtype=np.int64)
    rows = ordered_pass(pn, x, k_steps, window, parts).table().to_pylist()
    return [(r["pn"], r["depth"], [r[f"d{j}"] for j in range(1, k_steps)]) for r in rows]


@st.composite
def item_logs(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], int, int]:
    k_steps = draw(st.integers(2, 5))
    n = draw(st.integers(0, 60))
    persons = draw(st.integers(1, 8))
    t0 = draw(st.sampled_from([0, 1_772_000_000_000_000]))
    items = [
        (
            draw(st.integers(1, persons)),
            t0 + draw(st.integers(0, 12)),
            draw(st.integers(0, k_steps - 1)),
        )
        for _ in range(n)
    ]
    return items, k_steps, draw(st.sampled_from([1, 2, 3, 5]))


@settings(max_examples=300, deadline=None)
@given(log=item_logs(), parts=st.integers(2, 5))
def test_every_number_of_parts_gives_the_reference_rows(
    log: tuple[list[tuple[int, int, int]], int, int], parts: int
) -> None:
    items, k_steps, window = log
    expected = chain_reference(items, k_steps, window)
    assert pass_rows(items, k_steps, window, 1) == expected
    assert pass_rows(items, k_steps, window, parts) == expected


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=funnels(), data=st.data())
def test_the_engine_answers_the_same_on_any_number_of_threads(
    chdb_pool: ChdbPool, q: dict[str, Any], data: Any
) -> None:
    log = data.draw(logs([s["event"] for s in q["steps"]]))
    rows = [Row(p, e, BASE + timedelta(seconds=s), {"v": v} if v else {}) for p, e, s, v in log]
    loaded = load_log(rows, chdb_pool)
    expected = reference(loaded.frame, q)
    people = reference_people(loaded.frame, q)
    dropped = sorted(person_id(loaded.duck, p) for p, (_, depth, _) in people.items() if depth == 1)
    query = FunnelQuery.model_validate(q)
    plain = FunnelQuery.model_validate({**q, "breakdown": None})
    store = loaded.duck.engine.store
    for threads in (1, 2, 4):
        store.cursor().execute(f"SET threads = {threads}")
        assert engine_lines(run_funnel(loaded.duck, query)) == expected, threads
        assert funnel_people(loaded.duck, plain, 1, True) == dropped, threads
