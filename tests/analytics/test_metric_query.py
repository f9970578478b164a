"""The metrics query's features on a small hand-made log, on both engines, against values worked
out by hand: comparison periods, folding into "$other", saved-segment breakdowns and filters,
first-touch filters, parameters, workspace metrics, trends series naming a metric, and the
field-level errors of what cannot be computed."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from opsloop.analytics.catalog.catalog import parse_metric
from opsloop.analytics.catalog.definitions import Definitions, SpendRow, SpendTable
from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.analytics.segments.compiler import Cohort
from opsloop.errors import InvalidInput
from tests.analytics.logs import ChdbPool, Loaded, Row, load_log, person_id
from tests.analytics.test_metric_truths import Segments

XHS, DY, BD = "小红书", "抖音信息流", "百度搜索"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 6, day, hour)


LOG = [
    Row("u1", "sign_up", at(1, 10), {"channel": XHS}),
    Row("u1", "pay", at(2), {"channel": XHS, "amount": 100}),
    Row("u1", "pay", at(3), {"channel": XHS, "amount": 50}),
    Row("u1", "pay", at(9), {"channel": XHS, "amount": 10}),
    Row("u2", "sign_up", at(1, 11), {"channel": DY}),
    Row("u2", "pay", at(1, 12), {"channel": DY, "amount": 30}),
    Row("u2", "app_open", at(8), {"channel": DY}),
    Row("u2", "pay", at(10), {"channel": DY, "amount": 40}),
    Row("u3", "app_open", at(5), {"channel": BD}),
    Row("u3", "pay", at(9), {"channel": BD, "amount": 20}),
    Row("u4", "app_open", at(8, 9)),
    Row("u4", "use_feature", at(8, 10), {"feature": "搜索", "$channel": XHS}),
    Row("u4", "pay", at(12, 23), {"amount": 5}),
]


@pytest.fixture(scope="module")
def shop(chdb_pool: ChdbPool) -> Loaded:
    return load_log(LOG, chdb_pool)


def both(shop: Loaded, **query: Any) -> dict[str, Any]:
    """The answer, the same on DuckDB and ClickHouse."""
    q = MetricsQuery.model_validate(query)
    duck = run_metrics(shop.duck, q)
    assert run_metrics(shop.ch, q) == duck
    return duck


def lines(answer: dict[str, Any]) -> dict[tuple[str, Any], tuple[list[Any], Any]]:
    return {
        (r["metric"], r["breakdown_value"]): (r["values"], r["total"]) for r in answer["results"]
    }


def test_compare_with_the_previous_period_and_the_same_period_last_week(shop: Loaded) -> None:
    week = both(
        shop,
        metrics=["gmv", "paying_users"],
        date_from="2026-06-08",
        date_to="2026-06-14",
        compare="previous_period",
    )
    gmv = week["results"][0]
    assert gmv["values"] == [0, 30, 40, 0, 5, 0, 0] and gmv["total"] == 75
    assert gmv["previous_values"] == [30, 100, 50, 0, 0, 0, 0]
    assert gmv["previous_total"] == 180
    assert gmv["change"] == pytest.approx([-1.0, -0.7, -0.2, None, None, None, None])
    assert gmv["total_change"] == pytest.approx((75 - 180) / 180)
    assert week["compare"] == {
        "kind": "previous_period",
        "date_from": "2026-06-01",
        "date_to": "2026-06-07",
        "dates": [f"2026-06-0{d}" for d in range(1, 8)],
    }
    payers = week["results"][1]
    assert (payers["total"], payers["previous_total"]) == (4, 2)
    short = both(
        shop,
        metrics=["orders"],
        date_from="2026-06-08",
        date_to="2026-06-10",
        compare="same_period_last_week",
    )
    line = short["results"][0]
    assert (line["values"], line["previous_values"]) == ([0, 2, 1], [1, 1, 1])
    assert line["change"] == [-1.0, 1.0, 0.0]
    assert short["compare"]["date_from"] == "2026-06-01"


def test_breakdown_limit_folds_the_rest_into_other(shop: Loaded) -> None:
    full = lines(
        both(
            shop,
            metrics=["paying_users", "gmv"],
            date_from="2026-06-01",
            date_to="2026-06-12",
            interval="week",
            breakdown="channel",
        )
    )
    assert full[("gmv", XHS)][1] == 160 and full[("gmv", None)][1] == 5
    folded = both(
        shop,
        metrics=["paying_users", "gmv"],
        date_from="2026-06-01",
        date_to="2026-06-12",
        interval="week",
        breakdown="channel",
        breakdown_limit=2,
    )
    got = lines(folded)
    # Ranked by paying users (the first metric): every channel has one payer, so by name (no
    # channel first); the others fold into one line, its payers counted once.
    kept = [r["breakdown_value"] for r in folded["results"] if r["metric"] == "gmv"]
    assert kept == [None, XHS, "$other"]
    assert got[("gmv", "$other")][1] == 40 + 30 + 20
    assert sum(got[("gmv", bv)][1] for bv in kept) == 255
    assert got[("paying_users", "$other")][1] == 2


def test_saved_segments_break_down_and_restrict(shop: Loaded) -> None:
    u1, u2, u3 = (person_id(shop.duck, u) for u in ("u1", "u2", "u3"))
    cohorts = {7: Cohort(person_ids=(u1, u2)), 8: Cohort(person_ids=(u2, u3))}

    class Static(Segments):
        def __call__(self, segment_id: int) -> Cohort | None:
            return cohorts.get(segment_id)

    static = Static({7: {}, 8: {}})
    names = Definitions(segment_names={7: "老用户", 8: "高价值"})
    for base in (shop.duck, shop.ch):
        ctx = dataclasses.replace(base, cohorts=static, definitions=names)
        q = MetricsQuery(
            metrics=["gmv", "paying_users"],
            date_from="2026-06-01",
            date_to="2026-06-12",
            interval="week",
            breakdown="$segment",
            segments=[7, 8],
        )
        got = lines(run_metrics(ctx, q))
        assert got[("gmv", "老用户")][1] == 160 + 70
        assert got[("gmv", "高价值")][1] == 70 + 20
        assert got[("paying_users", "高价值")][1] == 2
        only = run_metrics(
            ctx, q.model_copy(update={"breakdown": None, "segments": [], "segment": 8})
        )
        assert lines(only)[("gmv", None)] == ([30, 60], 90)


def test_first_touch_channel_filter_equals_its_breakdown_line(shop: Loaded) -> None:
    by = lines(
        both(
            shop,
            metrics=["gmv", "new_users"],
            date_from="2026-06-01",
            date_to="2026-06-12",
            interval="week",
            breakdown="$first_touch_channel",
        )
    )
    # u4's first channel-carrying event is the use_feature with $channel 小红书.
    assert by[("gmv", XHS)] == ([150, 15], 165)
    assert by[("new_users", XHS)] == ([1, 1], 2)
    only = lines(
        both(
            shop,
            metrics=["gmv", "new_users"],
            date_from="2026-06-01",
            date_to="2026-06-12",
            interval="week",
            filters=[{"property": "$first_touch_channel", "op": "eq", "value": XHS}],
        )
    )
    assert only[("gmv", None)] == by[("gmv", XHS)]
    assert only[("new_users", None)] == by[("new_users", XHS)]


def test_parameters_bind_into_filters(shop: Loaded) -> None:
    answer = both(
        shop,
        metrics=[
            {"metric": "feature_users", "params": {"feature": "搜索"}, "label": "搜索"},
            {"metric": "feature_users", "params": {"feature": "收藏夹"}},
            "feature_users",
        ],
        date_from="2026-06-08",
        date_to="2026-06-08",
    )
    got = [(r["label"], r["params"], r["total"]) for r in answer["results"]]
    assert got == [
        ("搜索", {"feature": "搜索"}, 1),
        ("feature_users", {"feature": "收藏夹"}, 0),
        ("feature_users", {}, 1),  # without the parameter: users of any feature
    ]
    answer = both(
        shop,
        metrics=[{"metric": "feature_usage_rate", "params": {"feature": "搜索"}}],
        date_from="2026-06-08",
        date_to="2026-06-08",
    )
    assert answer["results"][0]["total"] == pytest.approx(1 / 2)


def test_workspace_metrics_and_spend(shop: Loaded) -> None:
    own = parse_metric(
        {
            "key": "pay_per_new_user",
            "kind": "formula",
            "formula": "gmv / new_users",
            "name": {"zh-CN": "新用户人均成交", "en": "GMV per new user"},
            "description": {"zh-CN": "GMV ÷ 新增用户", "en": "GMV ÷ new users"},
            "unit": {"zh-CN": "元", "en": "CNY"},
            "format": "currency",
        }
    )
    rows = [SpendRow(XHS, datetime(2026, 6, d).date(), 100.0) for d in (1, 2)]
    table = SpendTable("USD", lambda lo, hi: [r for r in rows if lo <= r.day <= hi])
    for base in (shop.duck, shop.ch):
        ctx = dataclasses.replace(base, definitions=Definitions(metrics=(own,), spend=table))
        answer = run_metrics(
            ctx,
            MetricsQuery(
                metrics=["pay_per_new_user", "cac"],
                date_from="2026-06-01",
                date_to="2026-06-07",
                interval="week",
                breakdown="$first_touch_channel",
            ),
        )
        got = lines(answer)
        assert got[("pay_per_new_user", XHS)][1] == 150
        assert got[("cac", XHS)][1] == 200  # 200 spent, one new user from 小红书
        assert got[("cac", DY)][1] is None  # no spend rows for that channel: unknown, not 0
        assert answer["metrics"][1]["currency"] == "USD"


def test_trends_series_may_name_a_catalog_metric(shop: Loaded) -> None:
    for ctx in (shop.duck, shop.ch):
        trends = run_trends(
            ctx,
            TrendsQuery.model_validate(
                {
                    "series": [
                        {"metric": "aov"},
                        {"event": "pay", "math": "sum", "property": "amount"},
                    ],
                    "date_from": "2026-06-01",
                    "date_to": "2026-06-12",
                    "interval": "week",
                    "compare": "previous_week",
                }
            ),
        )
        metric = trends["results"][0]
        assert (metric["label"], metric["math"], metric["values"]) == ("aov", "metric", [60, 18.75])
        assert metric["total"] == 255 / 7
        assert trends["previous"][0]["values"] == [None, 60]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ["nope"]}, "metrics.0"),
        ({"metrics": ["gmv", {"metric": "gmv", "params": {"x": 1}}]}, "metrics.1.params.x"),
        ({"metrics": ["dau"], "interval": "hour"}, "interval"),
        ({"metrics": ["mau"], "interval": "week"}, "interval"),
        ({"metrics": ["next_day_retention"], "interval": "hour"}, "interval"),
        ({"metrics": ["gmv"], "breakdown": "$segment"}, "segments"),
        ({"metrics": ["gmv"], "segments": [1]}, "segments"),
        ({"metrics": ["gmv"], "segment": 99}, "segment"),
        ({"metrics": ["cac"], "filters": [{"property": "channel", "value": "x"}]}, "filters"),
        ({"metrics": ["gmv"], "breakdown": 'a"b'}, "property"),
        ({"metrics": ["gmv"], "date_to": "2026-05-01"}, "date_to"),
    ],
)
def test_what_cannot_be_computed_is_refused_naming_the_field(
    shop: Loaded, query: dict[str, Any], field: str
) -> None:
    q = MetricsQuery.model_validate({"date_from": "2026-06-01", "date_to": "2026-06-07", **query})
    for ctx in (shop.duck, shop.ch):
        with pytest.raises(InvalidInput) as caught:
            run_metrics(dataclasses.replace(ctx, cohorts=Segments({})), q)
        assert caught.value.field == field


def test_hour_grain_adds_up_to_days(shop: Loaded) -> None:
    hours = both(
        shop, metrics=["gmv"], date_from="2026-06-01", date_to="2026-06-02", interval="hour"
    )
    values = hours["results"][0]["values"]
    assert len(values) == 48 and values[12] == 30 and values[24 + 12] == 100
    assert sum(values) == hours["results"][0]["total"] == 130
