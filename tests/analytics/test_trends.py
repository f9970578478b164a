"""Trends against a pandas reference, and DuckDB against ClickHouse on the same data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.conftest import World

D0, D1 = date(2026, 10, 20), date(2026, 11, 9)


def _labels(interval: str, lo: date, hi: date) -> list[str]:
    days = pd.date_range(lo, hi, freq="D")
    if interval == "day":
        return [d.strftime("%Y-%m-%d") for d in days]
    if interval == "week":
        return sorted({(d - timedelta(days=d.weekday())).strftime("%Y-%m-%d") for d in days})
    if interval == "month":
        return sorted({d.strftime("%Y-%m") for d in days})
    return [f"{d.strftime('%Y-%m-%d')} {h:02d}:00" for d in days for h in range(24)]


def _bucket(local: pd.Series, interval: str) -> pd.Series:
    if interval == "day":
        return local.dt.strftime("%Y-%m-%d")
    if interval == "week":
        return (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.strftime(
            "%Y-%m-%d"
        )
    if interval == "month":
        return local.dt.strftime("%Y-%m")
    return local.dt.strftime("%Y-%m-%d %H:00")


def _aggregate(g: pd.DataFrame, math: str) -> float:
    if math == "total":
        return float(len(g))
    if math == "unique_users":
        return float(g["person_id"].nunique())
    return float(getattr(g["value"].astype(float), {"avg": "mean"}.get(math, math))())


def _series_reference(
    e: pd.DataFrame, s: dict[str, Any], bd: str | None, interval: str, labels: list[str]
) -> list[tuple[Any, list[float | None], float | None]]:
    if s["event"] == "$any":
        e = e[~e["event"].isin(PERSON_ONLY_EVENTS)]
    else:
        e = e[e["event"] == s["event"]]
    for f in s.get("filters", []):
        key, value = f["property"], f["value"]
        e = e[e["props"].map(lambda p, k=key, v=value: str(p.get(k)) == v).astype(bool)]
    e = e.assign(bucket=_bucket(e["local"], interval))
    e = e.assign(bv=e["props"].map(lambda p: p.get(bd)) if bd else None)
    prop = s.get("property")
    if prop:
        e = e.assign(value=e["props"].map(lambda p: p.get(prop)))
    empty = 0.0 if s["math"] in ("total", "unique_users", "sum") else None
    out = []
    for bv in [None] if not bd else e["bv"].dropna().unique().tolist():
        g = e if bv is None else e[e["bv"] == bv]
        per = {b: _aggregate(x, s["math"]) for b, x in g.groupby("bucket")}
        total = _aggregate(g, s["math"]) if len(g) else empty
        out.append((bv, [per.get(b, empty) for b in labels], total))
    return out


def reference(world: World, q: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Plain pandas: (series, breakdown value, values, total) per result line."""
    ev = world.events
    lo, hi = pd.Timestamp(q["date_from"]), pd.Timestamp(q["date_to"]) + pd.Timedelta(days=1)
    ev = ev[(ev["local"] >= lo) & (ev["local"] < hi)]
    interval = q.get("interval", "day")
    labels = _labels(interval, q["date_from"], q["date_to"])
    out = [
        (i, bv, values, total)
        for i, s in enumerate(q["series"])
        for bv, values, total in _series_reference(ev, s, q.get("breakdown"), interval, labels)
    ]
    return sorted(out, key=lambda r: (r[0], str(r[1])))


def engine_lines(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            (
                r["series"],
                r["breakdown_value"],
                [None if v is None else float(v) for v in r["values"]],
                None if r["total"] is None else float(r["total"]),
            )
            for r in answer["results"]
        ),
        key=lambda r: (r[0], str(r[1])),
    )


def close(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x[:2] != y[:2] or len(x[2]) != len(y[2]):
            return False
        for u, v in [*zip(x[2], y[2], strict=True), (x[3], y[3])]:
            if (u is None) != (v is None) or (u is not None and abs(u - v) > 1e-6 * max(1, abs(v))):
                return False
    return True


CASES = [
    {"series": [{"event": "app_open", "math": "total"}], "interval": "day"},
    {"series": [{"event": "$any", "math": "unique_users"}], "interval": "week"},
    {
        "series": [
            {"event": "pay", "math": "sum", "property": "amount"},
            {"event": "pay", "math": "avg", "property": "amount"},
        ],
        "interval": "month",
    },
    {"series": [{"event": "pay", "math": "unique_users"}], "breakdown": "platform"},
    {
        "series": [
            {
                "event": "view_item",
                "math": "total",
                "filters": [{"property": "channel", "op": "eq", "value": "小红书"}],
            }
        ],
        "interval": "hour",
    },
    {"series": [{"event": "pay", "math": "max", "property": "amount"}], "breakdown": "category"},
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_trends_equal_the_pandas_reference_on_both_engines(
    world: World, case: dict[str, Any]
) -> None:
    q = {"date_from": D0, "date_to": D1, **case}
    expected = reference(world, q)
    duck = engine_lines(run_trends(world.duck, TrendsQuery.model_validate(q)))
    ch = engine_lines(run_trends(world.ch, TrendsQuery.model_validate(q)))
    assert close(duck, expected), (duck[:2], expected[:2])
    assert close(ch, duck)


def test_breakdown_limit_folds_the_rest_into_other(world: World) -> None:
    q = TrendsQuery.model_validate(
        {
            "series": [{"event": "pay", "math": "total"}],
            "date_from": D0,
            "date_to": D1,
            "breakdown": "category",
            "breakdown_limit": 3,
        }
    )
    answer = run_trends(world.duck, q)
    values = [r["breakdown_value"] for r in answer["results"]]
    assert len(values) == 4 and values[-1] == "$other"
    full = run_trends(world.duck, q.model_copy(update={"breakdown_limit": 500}))
    assert sum(r["total"] for r in answer["results"]) == sum(r["total"] for r in full["results"])
    top = sorted(full["results"], key=lambda r: -r["total"])[:3]
    assert [r["breakdown_value"] for r in answer["results"][:3]] == [
        r["breakdown_value"] for r in top
    ]
    assert engine_lines(run_trends(world.ch, q)) == engine_lines(answer)


def test_compare_with_previous_period(world: World) -> None:
    q = TrendsQuery.model_validate(
        {
            "series": [{"event": "app_open"}],
            "date_from": date(2026, 11, 8),
            "date_to": date(2026, 11, 14),
            "compare": "previous_week",
        }
    )
    answer = run_trends(world.duck, q)
    earlier = run_trends(
        world.duck,
        q.model_copy(
            update={"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 7), "compare": None}
        ),
    )
    assert answer["previous"][0]["values"] == earlier["results"][0]["values"]
    assert answer["previous"][0]["compare"] is True
