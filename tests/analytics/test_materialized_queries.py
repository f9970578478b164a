"""Every query kind gives the same answer whether event properties come from their materialized
columns or from the JSON, on DuckDB and on ClickHouse (chdb), and the columns are really read.

The demo world materializes its hot properties (demo/world.py HOT_PROPERTIES); the same store
read with `materialized=False` is the reference.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import ChdbEngine, DuckDbEngine
from opsloop.analytics.registry import KINDS, QUERY_ADAPTER
from opsloop.demo.world import HOT_PROPERTIES
from tests.analytics.conftest import END, TZ, WORKSPACE, World
from tests.analytics.logs import ChdbPool

D0, D1 = date(2026, 10, 20), date(2026, 11, 9)
RANGE = {"date_from": D0.isoformat(), "date_to": D1.isoformat()}
PAY_FILTERS = [
    {"property": "category", "op": "in", "value": ["美妆", "数码", "服饰"]},
    {"property": "amount", "op": "gte", "value": 50},
]

# Each kind reading materialized properties as breakdowns, filters (text and number) and values.
QUERIES: list[dict[str, Any]] = [
    {
        "kind": "trends",
        **RANGE,
        "series": [
            {"event": "$any", "math": "unique_users"},
            {"event": "pay", "math": "sum", "property": "amount", "filters": PAY_FILTERS},
            {"event": "pay", "math": "avg", "property": "amount"},
        ],
        "breakdown": "channel",
        "filters": [{"property": "platform", "op": "neq", "value": "iOS"}],
    },
    {
        "kind": "trends",
        **RANGE,
        "interval": "week",
        "series": [{"event": "use_feature", "math": "total"}],
        "breakdown": "feature",
        "filters": [{"property": "region", "op": "contains", "value": "华"}],
    },
    {
        "kind": "trends",
        **RANGE,
        "series": [{"event": "pay", "math": "total"}],
        "breakdown": "amount",  # a number column: breakdowns read the JSON text
        "filters": [{"property": "amount", "op": "lt", "value": 30}],
    },
    {
        "kind": "retention",
        **RANGE,
        "start_event": "sign_up",
        "return_event": "$any",
        "periods": 7,
        "breakdown": "channel",
        "filters": [{"property": "platform", "op": "is_set"}],
    },
    {
        "kind": "lifecycle",
        **RANGE,
        "event": "pay",
        "interval": "week",
        "filters": [{"property": "category", "op": "not_in", "value": ["美妆"]}],
    },
    {"kind": "rfm", "as_of": END.isoformat(), "amount_property": "amount", "limit": 200},
    {
        "kind": "funnel",
        **RANGE,
        "steps": [
            {
                "event": "view_item",
                "filters": [{"property": "category", "op": "eq", "value": "数码"}],
            },
            {"event": "add_to_cart"},
            {"event": "pay", "filters": [{"property": "amount", "op": "gt", "value": 10}]},
        ],
        "window_seconds": 86_400,
        "breakdown": "platform",
    },
    {
        "kind": "funnel_persons",
        **RANGE,
        "steps": [
            {
                "event": "view_item",
                "filters": [{"property": "category", "op": "eq", "value": "数码"}],
            },
            {"event": "pay", "filters": [{"property": "amount", "op": "gt", "value": 10}]},
        ],
        "window_seconds": 86_400,
        "breakdown": "platform",
        "breakdown_value": "iOS",
        "step": 1,
        "dropped": True,
        "limit": 500,
    },
    {"kind": "paths", **RANGE, "start_event": "app_open", "depth": 4},
    {
        "kind": "segment",
        "as_of": END.isoformat(),
        "limit": 500,
        "rule": {
            "and": [
                {
                    "did": "pay",
                    "at_least": 1,
                    "in_last_days": 30,
                    "filters": [{"property": "amount", "op": "gte", "value": 100}],
                },
                {
                    "did_not": "app_open",
                    "in_last_days": 7,
                    "filters": [{"property": "channel", "op": "eq", "value": "抖音信息流"}],
                },
            ]
        },
    },
    {"kind": "timeline", "distinct_id": "u0000007", "limit": 20},
    {
        "kind": "metrics",
        **RANGE,
        "interval": "week",
        "metrics": ["paid_conversion", "gmv_decomposed", "order_amount_p50", "repurchase_rate"],
        "breakdown": "$first_touch_channel",
        "filters": [{"property": "platform", "op": "neq", "value": "iOS"}],
    },
    {
        "kind": "metrics",
        **RANGE,
        "metrics": ["next_day_retention", "dau", "k_factor", "items_sold"],
        "breakdown": "region",
        "filters": [{"property": "amount", "op": "gte", "value": 0}],
    },
]


def _contexts(world: World, chdb_pool: ChdbPool) -> list[tuple[QueryContext, QueryContext]]:
    plain_duck = QueryContext(WORKSPACE, TZ, DuckDbEngine(world.store, materialized=False))
    plain_ch = QueryContext(
        WORKSPACE, TZ, ChdbEngine(chdb_pool.session, "world", materialized=False)
    )
    return [(world.duck, plain_duck), (world.ch, plain_ch)]


def _without_timing(answer: dict[str, Any]) -> Any:
    """The answer without its timing, sums rounded: a parallel sum's last bit depends on the
    order its threads finish in, materialized or not."""
    return _rounded({k: v for k, v in answer.items() if k != "seconds"})


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def test_every_kind_is_covered() -> None:
    assert {q["kind"] for q in QUERIES} == set(KINDS)


@pytest.mark.parametrize("payload", QUERIES, ids=lambda q: str(q["kind"]))
def test_materialized_answers_equal_json_answers(
    world: World, chdb_pool: ChdbPool, payload: dict[str, Any]
) -> None:
    query = QUERY_ADAPTER.validate_python(payload)
    run = KINDS[payload["kind"]].run
    answers = []
    for fast, plain in _contexts(world, chdb_pool):
        a, b = run(fast, query), run(plain, query)
        assert _without_timing(a) == _without_timing(b), fast.dialect.name
        answers.append(_without_timing(a))
    if payload.get("breakdown") != "amount":
        # and DuckDB equals ClickHouse, except in the text of decimal numbers: DuckDB spells
        # 198.00 "198.0", ClickHouse "198" (either way, materialized or not).
        assert answers[0] == answers[1]


def test_the_columns_are_read_instead_of_the_json(world: World, chdb_pool: ChdbPool) -> None:
    """The materialized engines compile column reads; the reference engines parse the JSON."""
    payload = QUERIES[0]
    query = QUERY_ADAPTER.validate_python(payload)
    for fast, plain in _contexts(world, chdb_pool):
        fast_sql, plain_sql = _compiled(fast, query), _compiled(plain, query)
        for column in ("mp_channel", "mp_platform", "mp_category", "mp_amount__num"):
            assert f'e."{column}"' in fast_sql
            assert column not in plain_sql
        assert "e.properties" not in fast_sql
        assert "e.properties" in plain_sql
    assert dict(world.duck.dialect.materialized) == {
        (key, kind): f"mp_{key}" + ("__num" if kind == "number" else "")
        for key, kind in HOT_PROPERTIES
    }


def _compiled(ctx: QueryContext, query: Any) -> str:
    """Every SQL statement a query sends to its engine, joined."""
    statements: list[str] = []
    engine = ctx.engine
    original = engine.rows

    def capture(sql: str) -> list[tuple[Any, ...]]:
        statements.append(sql)
        return original(sql)

    engine.rows = capture  # type: ignore[method-assign]
    try:
        KINDS[query.kind].run(ctx, query)
    finally:
        del engine.rows  # type: ignore[method-assign]
    return "\n".join(statements)
