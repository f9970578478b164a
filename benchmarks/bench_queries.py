"""Every query kind through the engine's Python API, beside a hand-written DuckDB query giving
the same answer and a straightforward pandas implementation, on the demo world at 10M events.

    .venv/bin/python benchmarks/bench_queries.py [--users 200000] [--days 90] [--runs 3]
        [--only trends_dau_by_channel,...] [--no-pandas]

Prints one JSON object: per case the engine's median seconds, the hand-written SQL's, pandas',
the ratios (targets: engine / sql <= 1.3, pandas / engine >= 3), and a check that the engine's
answer equals the hand-written one. The machine is shared: quote ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics_data import WORKSPACE, open_dataset

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.events import EventStore
from opsloop.events.schema import PERSON_ONLY_EVENTS

TZ = "Asia/Shanghai"
D0, D1 = date(2026, 8, 18), date(2026, 11, 15)
SKIP = ", ".join(f"'{e}'" for e in sorted(PERSON_ONLY_EVENTS))
BASE = (
    "FROM events e JOIN person_distinct_ids m"
    " ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id"
    f" WHERE e.workspace_id = {WORKSPACE}"
    f" AND e.timestamp >= TIMESTAMPTZ '{D0} 00:00:00+08' AND e.timestamp < TIMESTAMPTZ"
    f" '{D1} 00:00:00+08' + INTERVAL 1 DAY"
)
DAY = f"strftime(timezone('{TZ}', e.timestamp), '%Y-%m-%d')"


@dataclass
class Case:
    name: str
    engine: Callable[[QueryContext], Any]
    sql: str
    pandas: Callable[[pd.DataFrame], Any]
    # Both answers reduced to the same comparable shape.
    from_engine: Callable[[Any], Any]
    from_sql: Callable[[list[tuple[Any, ...]]], Any]


def _trend_cells(answer: dict[str, Any]) -> dict[tuple[Any, str], float]:
    return {
        (r["breakdown_value"], d): float(v)
        for r in answer["results"]
        for d, v in zip(r["dates"], r["values"], strict=True)
        if v
    }


def _sql_cells(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, str], float]:
    return {(bv, d): float(v) for d, bv, v in rows if v}


def _props(frame: pd.DataFrame, key: str) -> pd.Series:
    return frame["properties"].map(lambda p: orjson.loads(p).get(key))


def _pandas_dau_by_channel(f: pd.DataFrame) -> Any:
    f = f[~f["event"].isin(PERSON_ONLY_EVENTS)]
    f = f.assign(channel=_props(f, "channel"), day=f["local"].dt.strftime("%Y-%m-%d"))
    return f.groupby(["channel", "day"])["person_id"].nunique()


def _pandas_gmv_by_day(f: pd.DataFrame) -> Any:
    f = f[f["event"] == "pay"]
    f = f.assign(amount=_props(f, "amount").astype(float), day=f["local"].dt.strftime("%Y-%m-%d"))
    return f.groupby("day")["amount"].sum()


CASES = [
    Case(
        "trends_dau_by_channel",
        lambda ctx: run_trends(
            ctx,
            TrendsQuery.model_validate(
                {
                    "series": [{"event": "$any", "math": "unique_users"}],
                    "date_from": D0,
                    "date_to": D1,
                    "interval": "day",
                    "breakdown": "channel",
                }
            ),
        ),
        f"SELECT {DAY} AS d, json_extract_string(e.properties, '$.channel') AS ch,"
        f" count(DISTINCT m.person_id) {BASE} AND e.event NOT IN ({SKIP}) GROUP BY ALL",
        _pandas_dau_by_channel,
        _trend_cells,
        _sql_cells,
    ),
    Case(
        "trends_gmv_by_day",
        lambda ctx: run_trends(
            ctx,
            TrendsQuery.model_validate(
                {
                    "series": [{"event": "pay", "math": "sum", "property": "amount"}],
                    "date_from": D0,
                    "date_to": D1,
                    "interval": "day",
                }
            ),
        ),
        f"SELECT {DAY} AS d, NULL AS bv, sum(CAST(json_extract_string(e.properties, '$.amount')"
        f" AS DOUBLE)) {BASE} AND e.event = 'pay' GROUP BY ALL",
        _pandas_gmv_by_day,
        _trend_cells,
        _sql_cells,
    ),
]


def _median_seconds(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _load_frame(store: EventStore) -> pd.DataFrame:
    cur = store.cursor()
    frame = cur.execute(
        "SELECT CAST(m.person_id AS VARCHAR) AS person_id, e.event, e.timestamp,"
        f" CAST(e.properties AS VARCHAR) AS properties {BASE}"
    ).df()
    cur.close()
    frame["local"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(TZ)
    return frame


def _close(a: dict[Any, float], b: dict[Any, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1, abs(b[k])) for k in a)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="")
    parser.add_argument("--no-pandas", action="store_true")
    args = parser.parse_args()
    store = open_dataset(args.users, args.days)
    ctx = QueryContext(WORKSPACE, TZ, DuckDbEngine(store))
    cases = [c for c in CASES if not args.only or c.name in args.only.split(",")]
    frame = None if args.no_pandas else _load_frame(store)
    out: dict[str, Any] = {
        "benchmark": "queries",
        "events": store.count_events(WORKSPACE),
        "users": args.users,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "cases": {},
    }
    for case in cases:
        sql_s, sql_rows = _median_seconds(
            lambda c=case: store.cursor().execute(c.sql).fetchall(), args.runs
        )
        eng_s, answer = _median_seconds(lambda c=case: c.engine(ctx), args.runs)
        row: dict[str, Any] = {
            "engine_s": round(eng_s, 3),
            "handwritten_sql_s": round(sql_s, 3),
            "engine_over_sql": round(eng_s / sql_s, 2),
            "same_answer": _close(case.from_engine(answer), case.from_sql(sql_rows)),
        }
        if frame is not None:
            pd_s, _ = _median_seconds(lambda c=case: c.pandas(frame), 1)
            row["pandas_s"] = round(pd_s, 3)
            row["pandas_over_engine"] = round(pd_s / eng_s, 1)
        out["cases"][case.name] = row
        print(json.dumps({case.name: row}), file=sys.stderr, flush=True)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
