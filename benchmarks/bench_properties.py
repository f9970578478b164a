"""Filtering and breaking down by an event property through the engine: read from the JSON, from
its materialized column, and from a native column (the baseline), in one run on the demo world
at 10M events. Target: materialized <= 1.5 x native.

    .venv/bin/python benchmarks/bench_properties.py [--users 200000] [--days 90] [--runs 5]
        [--keep]

Works on a private copy of the analytics benchmarks' data set (benchmarks/analytics_data.py,
built when missing; never changed in place). On the copy it drops and re-materializes the
properties, timing each backfill. The native baseline is `$os`, a column of the events table
since the start (promoted at ingestion), against `platform`, a property of the same shape (2-3
values, on every event). Each case runs `runs` times per variant, the variants interleaved, and
reports medians; the machine is shared: quote the ratios. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics_data import WORKSPACE, ensure_dataset

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.events import EventStore, open_event_store
from opsloop.events.materialized import PropertyKind, add_materialized, drop_materialized

TZ = "Asia/Shanghai"
D0, D1 = date(2026, 8, 18), date(2026, 11, 15)
TARGET = 1.5
# Materialized on the copy, each backfill timed: what the cases read, and two more demo keys.
PROPERTIES: list[tuple[str, PropertyKind]] = [
    ("platform", "text"),
    ("channel", "text"),
    ("category", "text"),
    ("amount", "number"),
]


def _trends(**fields: Any) -> TrendsQuery:
    return TrendsQuery.model_validate({"date_from": D0, "date_to": D1, **fields})


def breakdown(prop: str) -> TrendsQuery:
    return _trends(series=[{"event": "$any", "math": "unique_users"}], breakdown=prop)


def filtered(prop: str, value: str) -> TrendsQuery:
    return _trends(
        series=[{"event": "$any", "math": "total"}],
        filters=[{"property": prop, "op": "eq", "value": value}],
    )


def amount_over(threshold: float) -> TrendsQuery:
    return _trends(
        series=[{"event": "pay", "math": "sum", "property": "amount"}],
        filters=[{"property": "amount", "op": "gte", "value": threshold}],
    )


# case -> variant -> (engine reads materialized columns?, query)
CASES: dict[str, dict[str, tuple[bool, TrendsQuery]]] = {
    "breakdown_dau": {
        "json": (False, breakdown("platform")),
        "materialized": (True, breakdown("platform")),
        "native": (True, breakdown("$os")),
    },
    "filter_eq_events": {
        "json": (False, filtered("platform", "Android")),
        "materialized": (True, filtered("platform", "Android")),
        "native": (True, filtered("$os", "Android")),
    },
    "filter_number_sum": {
        "json": (False, amount_over(100)),
        "materialized": (True, amount_over(100)),
    },
}


def private_copy(users: int, days: int) -> Path:
    source = ensure_dataset(users, days) / "events.duckdb"
    folder = Path(os.environ.get("OPSLOOP_BENCH_PROPERTIES_DIR", "/tmp/opsloop-bench-properties"))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{users}u{days}d.duckdb"
    target.unlink(missing_ok=True)
    Path(f"{target}.wal").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def rematerialize(store: EventStore) -> dict[str, float]:
    """Drop (if the data set has them) and materialize PROPERTIES; seconds per backfill."""
    seconds = {}
    for key, kind in PROPERTIES:
        if (key, kind) in store.materialized.ready(WORKSPACE):
            drop_materialized(store, WORKSPACE, key, kind)
        started = time.perf_counter()
        add_materialized(store, WORKSPACE, key, kind)
        seconds[f"{key}:{kind}"] = round(time.perf_counter() - started, 2)
    return seconds


def _comparable(answer: dict[str, Any]) -> Any:
    return [
        (r["breakdown_value"], [round(float(v), 6) for v in r["values"]]) for r in answer["results"]
    ]


def run_case(
    contexts: dict[bool, QueryContext], variants: dict[str, tuple[bool, TrendsQuery]], runs: int
) -> dict[str, Any]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    answers: dict[str, Any] = {}
    for _ in range(runs):
        for name, (materialized, query) in variants.items():
            started = time.perf_counter()
            answer = run_trends(contexts[materialized], query)
            times[name].append(time.perf_counter() - started)
            answers[name] = _comparable(answer)
    medians = {name: statistics.median(t) for name, t in times.items()}
    row: dict[str, Any] = {f"{name}_s": round(s, 3) for name, s in medians.items()}
    row["json_over_materialized"] = round(medians["json"] / medians["materialized"], 2)
    if "native" in medians:
        row["materialized_over_native"] = round(medians["materialized"] / medians["native"], 2)
        row["json_over_native"] = round(medians["json"] / medians["native"], 2)
        row["meets_target"] = row["materialized_over_native"] <= TARGET
    row["same_answer"] = answers["json"] == answers["materialized"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the private copy afterwards")
    args = parser.parse_args()
    path = private_copy(args.users, args.days)
    load_before = os.getloadavg()[0]
    store = open_event_store(path)
    try:
        backfill = rematerialize(store)
        contexts = {
            flag: QueryContext(WORKSPACE, TZ, DuckDbEngine(store, materialized=flag))
            for flag in (False, True)
        }
        out: dict[str, Any] = {
            "benchmark": "properties",
            "events": store.count_events(WORKSPACE),
            "users": args.users,
            "runs": args.runs,
            "machine": f"{platform.machine()} {platform.python_version()}",
            "backfill_s": backfill,
            "target_materialized_over_native": TARGET,
            "cases": {},
        }
        for name, variants in CASES.items():
            out["cases"][name] = run_case(contexts, variants, args.runs)
            print(json.dumps({name: out["cases"][name]}), file=sys.stderr, flush=True)
    finally:
        store.close()
        if not args.keep:
            path.unlink(missing_ok=True)
            Path(f"{path}.wal").unlink(missing_ok=True)
    out["load_avg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
