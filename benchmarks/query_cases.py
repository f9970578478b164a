"""The query benchmark's cases: each kind's request, a hand-written DuckDB query giving the same
answer, and both answers reduced to one comparable shape (`canon`).

The hand-written queries are what an analyst who knows DuckDB would write for each question, on
the same tables, from the definitions in shared/domain/metrics.md; they do not reuse the
engine's SQL. The tables are the prepared benchmark world's (analytics_data.py): its hot
properties have typed columns (`mp_channel`, `mp_region`, `mp_amount__num`), and the analyst
reads those rather than the JSON, and joins the person map only where a question counts persons.
The pandas versions are in query_pandas.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from opsloop.events.schema import PERSON_ONLY_EVENTS

WORKSPACE = 1
TZ = "Asia/Shanghai"
D0, D1 = date(2026, 8, 18), date(2026, 11, 15)  # the demo world's 90 days
SKIP = ", ".join(f"'{e}'" for e in sorted(PERSON_ONLY_EVENTS))
FUNNEL = ("view_item", "add_to_cart", "checkout", "pay")
WINDOW_S = 86_400
TIMELINE_USER = "u0019000"  # in every world of 20,000 users or more (116 events at 10M)
SEGMENT_RULE = {
    "and": [
        {"did": "pay", "at_least": 2, "in_last_days": 30},
        {"person": "channel", "op": "eq", "value": "小红书"},
        {"did_not": "app_open", "in_last_days": 7},
    ]
}


def ts(day: date) -> str:
    """The instant `day` starts in Asia/Shanghai (UTC+8, no daylight saving)."""
    return f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+08'"


def events_in(lo: date | None, hi: date, *, persons: bool = True) -> str:
    """FROM/WHERE of the workspace's events in local dates lo..hi, persons resolved (as `m`)
    unless `persons=False`."""
    lower = f" AND e.timestamp >= {ts(lo)}" if lo else ""
    join = (
        " JOIN person_distinct_ids m"
        " ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id"
    )
    return (
        f"FROM events e{join if persons else ''}"
        f" WHERE e.workspace_id = {WORKSPACE}{lower} AND e.timestamp < {ts(hi + timedelta(1))}"
    )


ALL = events_in(D0, D1)
EVENTS_ONLY = events_in(D0, D1, persons=False)
DAY = f"CAST(timezone('{TZ}', e.timestamp) AS DATE)"


@dataclass(frozen=True)
class Case:
    name: str
    request: dict[str, Any]  # the body of POST /api/v1/query
    sql: str  # the hand-written DuckDB query
    canon_engine: Callable[[dict[str, Any]], Any]
    canon_sql: Callable[[list[tuple[Any, ...]]], Any]


# -- trends --------------------------------------------------------------------------------------


def _trend_cells(answer: dict[str, Any]) -> dict[tuple[Any, str], float]:
    return {
        (r["breakdown_value"], d): float(v)
        for r in answer["results"]
        for d, v in zip(r["dates"], r["values"], strict=True)
        if v
    }


def _sql_cells(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, str], float]:
    return {(bv, str(d)): float(v) for d, bv, v in rows if v}


def _trends(series: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"kind": "trends", "series": [series], "date_from": str(D0), "date_to": str(D1)}
    return {**body, "interval": "day", **extra}


TRENDS = [
    Case(
        "trends_dau_by_channel",
        _trends({"event": "$any", "math": "unique_users"}, breakdown="channel"),
        f"SELECT {DAY} AS d, e.mp_channel AS ch,"
        f" count(DISTINCT m.person_id) {ALL} AND e.event NOT IN ({SKIP}) GROUP BY ALL",
        _trend_cells,
        _sql_cells,
    ),
    Case(
        "trends_gmv_by_day",
        _trends({"event": "pay", "math": "sum", "property": "amount"}),
        f"SELECT {DAY} AS d, NULL AS bv, sum(e.mp_amount__num) {EVENTS_ONLY}"
        " AND e.event = 'pay' GROUP BY ALL",
        _trend_cells,
        _sql_cells,
    ),
    Case(
        "trends_json_filter",
        _trends(
            {"event": "$any", "math": "total"},
            filters=[{"property": "region", "op": "eq", "value": "华东"}],
        ),
        f"SELECT {DAY} AS d, NULL AS bv, count(*) {EVENTS_ONLY} AND e.event NOT IN ({SKIP})"
        " AND e.mp_region = '华东' GROUP BY ALL",
        _trend_cells,
        _sql_cells,
    ),
]


def _metric_cells(answer: dict[str, Any]) -> dict[tuple[str, str], float]:
    """Each metric's value per day and its total over the range (zeros and nulls left out)."""
    out = {}
    for r in answer["results"]:
        for d, v in [*zip(r["dates"], r["values"], strict=True), ("total", r["total"])]:
            if v:
                out[(r["metric"], d)] = float(v)
    return out


def _metric_rows(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], float]:
    out = {}
    for d, active, paying, gmv in rows:
        day = "total" if d is None else str(d)
        if active and paying:
            out[("paid_conversion", day)] = paying / active
        if gmv:
            out[("gmv", day)] = float(gmv)
    return out


# Catalog metrics (metrics.md): paid conversion = paying users ÷ active users of the same day
# (pooled over the range for the total, persons counted once), GMV = sum of pay amounts.
METRICS_SQL = f"""
WITH ev AS (SELECT {DAY} AS d, m.person_id AS p, e.event,
                   e.mp_amount__num AS amount
            {ALL} AND e.event NOT IN ({SKIP}))
SELECT strftime(d, '%Y-%m-%d'), count(DISTINCT p), count(DISTINCT p) FILTER (event = 'pay'),
       sum(amount) FILTER (event = 'pay')
FROM ev GROUP BY GROUPING SETS ((d), ())
"""

METRICS = [
    Case(
        "metrics_conversion_gmv",
        {"kind": "metrics", "metrics": ["paid_conversion", "gmv"], "interval": "day"}
        | {"date_from": str(D0), "date_to": str(D1)},
        METRICS_SQL,
        _metric_cells,
        _metric_rows,
    ),
]

# -- retention and lifecycle ---------------------------------------------------------------------


def _retention_cells(answer: dict[str, Any]) -> dict[tuple[str, int], int]:
    return {
        (r["cohort"], k): v
        for r in answer["results"]
        for k, v in enumerate(r["values"])
        if v  # None (period not over yet) and 0 are left out on both sides
    }


RETENTION_SQL = f"""
WITH ev AS (SELECT m.person_id AS p, e.event, {DAY} AS d {events_in(None, D1 + timedelta(7))}
            AND e.event NOT IN ({SKIP})),
     first AS (SELECT p, min(d) AS c FROM ev WHERE event = 'sign_up' GROUP BY p),
     act AS (SELECT DISTINCT p, d FROM ev)
SELECT strftime(f.c, '%Y-%m-%d'), a.d - f.c AS k, count(*)
FROM first f JOIN act a ON a.p = f.p AND a.d BETWEEN f.c AND f.c + 7
WHERE f.c BETWEEN DATE '{D0}' AND DATE '{D1}' GROUP BY ALL
"""

LIFECYCLE_SQL = f"""
WITH act AS (SELECT DISTINCT m.person_id AS p, {DAY} AS d {events_in(None, D1)}
             AND e.event NOT IN ({SKIP})),
     seq AS (SELECT p, d, lag(d) OVER w AS prev, lead(d) OVER w AS nxt FROM act
             WINDOW w AS (PARTITION BY p ORDER BY d)),
     flags AS (SELECT d, CAST(prev IS NULL AS INT) AS n, CAST(prev = d - 1 AS INT) AS ret,
                      CAST(prev < d - 1 AS INT) AS res, 0 AS dorm FROM seq
               UNION ALL
               SELECT d + 1, 0, 0, 0, -1 FROM seq WHERE nxt IS NULL OR nxt > d + 1)
SELECT strftime(d, '%Y-%m-%d'), sum(n), sum(ret), sum(res), sum(dorm) FROM flags
WHERE d BETWEEN DATE '{D0}' AND DATE '{D1}' GROUP BY d
"""


def _lifecycle_cells(answer: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (d, r["status"]): v
        for r in answer["results"]
        for d, v in zip(r["dates"], r["values"], strict=True)
        if v
    }


def _lifecycle_rows(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], int]:
    statuses = ("new", "returning", "resurrecting", "dormant")
    return {
        (d, s): int(v) for d, *values in rows for s, v in zip(statuses, values, strict=True) if v
    }


COHORTS = [
    Case(
        "retention_7d",
        {
            "kind": "retention",
            "start_event": "sign_up",
            "return_event": "$any",
            "period": "day",
            "periods": 7,
            "date_from": str(D0),
            "date_to": str(D1),
        },
        RETENTION_SQL,
        _retention_cells,
        lambda rows: {(c, int(k)): int(n) for c, k, n in rows if n},
    ),
    Case(
        "lifecycle_daily",
        {"kind": "lifecycle", "event": "$any", "interval": "day", "date_from": str(D0)}
        | {"date_to": str(D1)},
        LIFECYCLE_SQL,
        _lifecycle_cells,
        _lifecycle_rows,
    ),
]
