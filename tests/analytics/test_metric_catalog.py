"""Every built-in metric on the demo world against its pandas reference, on DuckDB and on
ClickHouse (chdb): whole results, each bucket and the range's total."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from opsloop.analytics.catalog.catalog import builtin_catalog
from opsloop.analytics.catalog.definitions import Definitions, SpendRow, SpendTable
from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from tests.analytics.conftest import World
from tests.analytics.metric_builtins import builtin_refs, mismatches
from tests.analytics.metric_reference import Ref
from tests.analytics.metric_reference import World as RefWorld

START, END = date(2026, 10, 12), date(2026, 11, 15)
# A spend table over part of the world (some channels, some days), for ad_spend and cac.
SPEND = [
    (channel, date(2026, 10, day), 100.0 + 7 * day + 13 * i)
    for i, channel in enumerate(("抖音信息流", "小红书", "百度搜索"))
    for day in range(12, 32, 3)
] + [("抖音信息流", date(2026, 11, 4), 880.5)]
MONTH_ONLY = {"mau", "stickiness"}
KEYS = sorted(builtin_catalog().metrics)


def with_spend(ctx: QueryContext) -> QueryContext:
    rows = [SpendRow(c, d, v) for c, d, v in SPEND]
    table = SpendTable("CNY", lambda lo, hi: [r for r in rows if lo <= r.day <= hi])
    return dataclasses.replace(ctx, definitions=Definitions(spend=table, version="spend"))


# One reference per query frame, shared by the tests of every key (the world is per session).
_REFERENCES: dict[tuple[Any, ...], tuple[RefWorld, Callable[[str], Ref]]] = {}


def reference(world: World, q: MetricsQuery) -> tuple[RefWorld, Callable[[str], Ref]]:
    frame = (id(world.events), q.date_from, q.date_to, q.interval, q.breakdown)
    if frame not in _REFERENCES:
        ref_world = RefWorld(
            world.events, q.date_from, q.date_to, q.interval, q.breakdown, spend=SPEND
        )
        _REFERENCES[frame] = (ref_world, builtin_refs(ref_world)[0])
    return _REFERENCES[frame]


def check(world: World, key: str, **query: Any) -> None:
    q = MetricsQuery.model_validate({"metrics": [key], **query})
    ref_world, ref = reference(world, q)
    duck = run_metrics(with_spend(world.duck), q)
    assert mismatches(duck, ref(key), ref_world, key) == []
    ch = run_metrics(with_spend(world.ch), q)
    assert mismatches(ch, ref(key), ref_world, key) == []


def test_the_reference_restates_every_built_in_metric(world: World) -> None:
    _, keys = builtin_refs(RefWorld(world.events, START, END, "week"))
    assert keys == set(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_each_built_in_metric_equals_the_reference(world: World, key: str) -> None:
    interval = "month" if key in MONTH_ONLY else "week"
    check(world, key, date_from=START, date_to=END, interval=interval)
