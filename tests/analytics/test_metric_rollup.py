"""Catalog event aggregates computed in two stages (catalog/rollup.py) on random small logs with
merged persons: equal to a pandas reference per (breakdown value, bucket) and over the range, and
to the single pass over every event (leaves.event_aggregates), on DuckDB and ClickHouse.

What the two stages could get wrong and the logs provoke: a person whose two distinct ids are
both active in one bucket (counted once), averages over groups with and without numbers (the sum
of sums over the sum of counts, not an average of averages), extremes, non-numeric amounts, a
leaf's own filter beside the query's, every grain, breakdowns by an event property and by the
first-touch channel (joined after the persons are resolved). The leaves run together (several
share one condition, and only "active" has its condition implied by the source's WHERE) and the
`pay` leaves alone (every condition implied: no condition column at all).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.catalog.leaves import LeafResult, event_aggregates
from opsloop.analytics.catalog.rollup import eligible, rolled_up
from opsloop.analytics.catalog.spec import (
    CountMetric,
    EventMetric,
    PropertyMetric,
    UniqueUsersMetric,
)
from opsloop.analytics.filters import PropertyFilter
from opsloop.analytics.queries.metrics import build_scope
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.grain_logs import BASE, SPAN, GrainLog, bucket_label, grain_logs
from tests.analytics.logs import ChdbPool, Loaded, Row, load_log

TEXT = {"zh-CN": "测试", "en": "test"}
ADS = PropertyFilter(property="channel", op="eq", value="ads")


def _leaf(cls: type[EventMetric], key: str, **fields: Any) -> EventMetric:
    return cls(key=key, name=TEXT, description=TEXT, unit=TEXT, **fields)


LEAVES: dict[str, EventMetric] = {
    "orders": _leaf(CountMetric, "orders", kind="count", event="pay"),
    "payers": _leaf(UniqueUsersMetric, "payers", kind="unique_users", event="pay"),
    "active": _leaf(UniqueUsersMetric, "active", kind="unique_users", event="$any"),
    "ads_events": _leaf(CountMetric, "ads_events", kind="count", filters=(ADS,)),
    "ads_users": _leaf(UniqueUsersMetric, "ads_users", kind="unique_users", filters=(ADS,)),
    **{
        k: _leaf(PropertyMetric, k, kind=k, event="pay", property="amount")
        for k in ("sum", "avg", "min", "max")
    },
}
PAY_LEAVES = {k: m for k, m in LEAVES.items() if m.event == ("pay",) and not m.filters}
assert len(PAY_LEAVES) == 6


def _number(props: dict[str, Any]) -> float | None:
    v = props.get("amount")
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _value(ident: str, g: pd.DataFrame) -> float | None:
    leaf = LEAVES[ident]
    if isinstance(leaf, CountMetric):
        return float(len(g))
    if isinstance(leaf, UniqueUsersMetric):
        return float(g["person"].nunique())
    numbers = [n for n in g["amount"] if n is not None and not math.isnan(n)]
    if isinstance(leaf, PropertyMetric) and leaf.kind == "sum":
        return float(sum(numbers))
    if not numbers:
        return None
    kind = leaf.kind  # type: ignore[attr-defined]
    return {"avg": sum(numbers) / len(numbers), "min": min(numbers), "max": max(numbers)}[kind]


def reference(
    loaded: Loaded, grain: str, lo: date, hi: date, by_channel: bool, filtered: bool
) -> dict[str, tuple[dict[Any, float | None], dict[Any, float | None]]]:
    """Per leaf: {(bv, bucket): value} and {bv: value over the range}, cells where it has events."""
    ids = dict(loaded.duck.engine.rows("SELECT distinct_id, person_id FROM person_distinct_ids"))
    f = loaded.frame
    f = f[(f["local"].dt.date >= lo) & (f["local"].dt.date <= hi)]
    if filtered:
        f = f[f["props"].map(lambda p: p.get("channel") != "seo").astype(bool)]
    f = f.assign(
        person=[ids[p] for p in f["person"]],
        bucket=[bucket_label(grain, t.to_pydatetime()) for t in f["local"]],
        bv=[p.get("channel") if by_channel else None for p in f["props"]],
        amount=[_number(p) for p in f["props"]],
        ads=[p.get("channel") == "ads" for p in f["props"]],
    )
    out = {}
    for ident, leaf in LEAVES.items():
        events = set(leaf.event)
        mine = f[~f["event"].isin(PERSON_ONLY_EVENTS)] if "$any" in events else f
        mine = mine if "$any" in events else mine[mine["event"].isin(events)]
        mine = mine[mine["ads"].astype(bool)] if leaf.filters else mine
        cells = {k: _value(ident, g) for k, g in mine.groupby(["bv", "bucket"], dropna=False)}
        totals = {k: _value(ident, g) for k, g in mine.groupby("bv", dropna=False)}
        out[ident] = (_nan_none(cells), _nan_none(totals))
    return out


def _nan_none(d: dict[Any, float | None]) -> dict[Any, float | None]:
    def key(k: Any) -> Any:
        if isinstance(k, tuple):
            return tuple(None if isinstance(x, float) and math.isnan(x) else x for x in k)
        return None if isinstance(k, float) and math.isnan(k) else k

    return {key(k): v for k, v in d.items()}


def _close(a: dict[Any, float | None], b: dict[Any, float | None]) -> bool:
    if set(a) != set(b):
        return False
    for k, v in a.items():
        w = b[k]
        if (v is None) != (w is None) or (v is not None and not math.isclose(v, w, rel_tol=1e-9)):  # type: ignore[arg-type]
            return False
    return True


def _same(got: LeafResult, cells: dict[Any, Any], totals: dict[Any, Any]) -> bool:
    return _close(dict(got.cells), cells) and _close(dict(got.totals), totals)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=grain_logs(), breakdown=st.sampled_from([None, "channel", "$first_touch_channel"]))
def test_two_stages_equal_the_reference_and_the_single_pass(
    chdb_pool: ChdbPool, case: GrainLog, breakdown: str | None
) -> None:
    grain, rows, merges = case
    loaded = load_log(rows, chdb_pool, merges=merges)
    hi = BASE + timedelta(days=SPAN[grain])
    for filtered in (False, True):
        filters = [PropertyFilter(property="channel", op="neq", value="seo")] if filtered else []
        expected = reference(loaded, grain, BASE, hi, breakdown == "channel", filtered)
        for ctx in (loaded.duck, loaded.ch):
            scope = build_scope(ctx, BASE, hi, grain, breakdown, filters)  # type: ignore[arg-type]
            assert all(eligible(scope, m) for m in LEAVES.values())
            for leaves in (LEAVES, PAY_LEAVES):
                staged = rolled_up(scope, leaves)
                single = event_aggregates(scope, leaves)
                for ident in leaves:
                    one = single[ident]
                    assert _same(staged[ident], dict(one.cells), dict(one.totals)), ident
                    if breakdown != "$first_touch_channel":
                        assert _same(staged[ident], *expected[ident]), ident


def test_a_person_property_keeps_the_single_pass(chdb_pool: ChdbPool) -> None:
    loaded = load_log([Row("a", "pay", datetime(2026, 3, 2, 9), {"amount": 3})], chdb_pool)
    scope = build_scope(loaded.duck, BASE, BASE, "day", "person.city")
    assert not eligible(scope, LEAVES["orders"])
    by_person = _leaf(
        CountMetric,
        "n",
        kind="count",
        filters=(PropertyFilter(property="city", type="person", value="x"),),
    )
    assert not eligible(build_scope(loaded.duck, BASE, BASE, "day"), by_person)
    assert eligible(build_scope(loaded.duck, BASE, BASE, "day"), LEAVES["orders"])


def test_two_stages_across_a_daylight_saving_change(chdb_pool: ChdbPool) -> None:
    """Europe/Berlin leaves summer time at 03:00 on 2026-10-25: the range's buckets use the
    offsets in force over it (every hour of the night in its own bucket, on both sides)."""
    night = [time(0, 30), time(1, 30), time(2, 30), time(3, 30), time(23, 30)]
    rows = [
        Row(who, event, datetime.combine(day, at), {"channel": "ads", "amount": 2 + k})
        for k, (who, event) in enumerate([("a", "pay"), ("b", "app_open"), ("a", "view")])
        for day in (date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26))
        for at in night
    ]
    loaded = load_log(rows, chdb_pool, tz="Europe/Berlin")
    lo, hi = date(2026, 10, 24), date(2026, 10, 26)
    for grain in ("hour", "day"):
        expected = reference(loaded, grain, lo, hi, False, False)
        for ctx in (loaded.duck, loaded.ch):
            staged = rolled_up(build_scope(ctx, lo, hi, grain), LEAVES)  # type: ignore[arg-type]
            for ident in LEAVES:
                assert _same(staged[ident], *expected[ident]), (grain, ident)
