"""Trends' unique users on random small logs with merged persons, against a pandas reference, on
DuckDB and ClickHouse.

Unique users are counted from the events grouped per (distinct_id, bucket, breakdown value) and
only those groups resolved to persons (trends._distinct_id_groups). What that could get wrong and
the logs provoke: a person whose two distinct ids are both active in one bucket, or in two
buckets of the range (one person in each bucket, once in the total); the breakdown value of each
id's events; the top values kept and the rest folded into "$other" (whose total is its distinct
persons, not the sum of its values' totals); person-only events (`$set`) left out of "$any"; a
query filter; every grain.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.context import bucket_labels
from opsloop.analytics.queries.trends import OTHER, TrendsQuery, run_trends
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.grain_logs import BASE, SPAN, GrainLog, bucket_label, grain_logs
from tests.analytics.logs import ChdbPool, load_log


def reference(
    frame: pd.DataFrame,
    ids: dict[str, str],
    q: TrendsQuery,
) -> tuple[dict[tuple[Any, str], float], dict[Any, float]]:
    """{(bv, bucket): persons} for cells with persons, and {bv: persons over the range}."""
    event = q.series[0].event
    f = frame[(frame["local"].dt.date >= q.date_from) & (frame["local"].dt.date <= q.date_to)]
    f = f[~f["event"].isin(PERSON_ONLY_EVENTS)] if event == "$any" else f[f["event"] == event]
    if q.filters:
        f = f[f["props"].map(lambda p: p.get("channel") != "seo").astype(bool)]
    bd = q.breakdown
    f = f.assign(
        person=[ids[p] for p in f["person"]],
        bucket=[bucket_label(q.interval, t.to_pydatetime()) for t in f["local"]],
        bv=[p.get(bd) if bd else None for p in f["props"]],
    )
    totals = {bv: float(g["person"].nunique()) for bv, g in f.groupby("bv", dropna=False)}
    totals = {None if pd.isna(bv) else bv: n for bv, n in totals.items()}
    if bd and len(totals) > q.breakdown_limit:
        ranked = sorted(totals, key=lambda bv: (-totals[bv], str(bv)))
        keep = set(ranked[: q.breakdown_limit])
        missing = [None if pd.isna(bv) else bv for bv in f["bv"]]  # pandas may hold NaN
        f = f.assign(bv=[bv if bv in keep else OTHER for bv in missing])
        totals = {bv: float(g["person"].nunique()) for bv, g in f.groupby("bv", dropna=False)}
        totals = {None if pd.isna(bv) else bv: n for bv, n in totals.items()}
    cells = {
        (None if pd.isna(bv) else bv, bucket): float(g["person"].nunique())
        for (bv, bucket), g in f.groupby(["bv", "bucket"], dropna=False)
    }
    return cells, totals


def answered(answer: dict[str, Any]) -> tuple[dict[tuple[Any, str], float], dict[Any, float]]:
    cells, totals = {}, {}
    for line in answer["results"]:
        bv = line["breakdown_value"]
        totals[bv] = float(line["total"])
        for label, v in zip(line["dates"], line["values"], strict=True):
            if v:
                cells[(bv, label)] = float(v)
    return cells, totals


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=grain_logs(),
    event=st.sampled_from(["$any", "pay"]),
    breakdown=st.sampled_from([None, "channel"]),
    limit=st.sampled_from([1, 2, 25]),
    filtered=st.booleans(),
)
def test_unique_users_equal_the_reference_on_both_engines(
    chdb_pool: ChdbPool,
    case: GrainLog,
    event: str,
    breakdown: str | None,
    limit: int,
    filtered: bool,
) -> None:
    grain, rows, merges = case
    loaded = load_log(rows, chdb_pool, merges=merges)
    q = TrendsQuery.model_validate(
        {
            "series": [{"event": event, "math": "unique_users"}],
            "date_from": BASE,
            "date_to": BASE + timedelta(days=SPAN[grain]),
            "interval": grain,
            "breakdown": breakdown,
            "breakdown_limit": limit,
            "filters": [{"property": "channel", "op": "neq", "value": "seo"}] if filtered else [],
        }
    )
    ids = dict(loaded.duck.engine.rows("SELECT distinct_id, person_id FROM person_distinct_ids"))
    cells, totals = reference(loaded.frame, {k: str(v) for k, v in ids.items()}, q)
    labels = bucket_labels(grain, q.date_from, q.date_to)  # type: ignore[arg-type]
    assert {bucket for _, bucket in cells} <= set(labels)
    for ctx in (loaded.duck, loaded.ch):
        answer = run_trends(ctx, q)
        assert all(line["dates"] == labels for line in answer["results"])
        got_cells, got_totals = answered(answer)
        assert got_cells == cells
        if breakdown:
            assert got_totals == totals
        else:  # the one line is there even when nobody is active
            assert got_totals == {None: totals.get(None, 0.0)}
