"""Every query kind through the engine's Python API, beside a hand-written DuckDB query giving
the same answer and a straightforward pandas implementation, on the demo world (10M or 100M).

    .venv/bin/python benchmarks/bench_queries.py [--users 200000] [--days 90] [--runs 5]
        [--only trends_dau_by_channel,...] [--no-pandas] [--no-chdb] [--rest] [--no-cache-case]

Before anything is timed, each case's engine answer must equal the hand-written query's (and
pandas'); a case that differs is reported and not timed. Engine and hand-written runs alternate,
so a burst of load from other work hits both. `--rest` also times every case through a real
`opsloop serve` (HTTP and JSON included) on a copy of the data, and the cache case: a repeated
query answered from the cache, then a new event that invalidates it. `--users 2000000` is the
100M-event world (build it first with analytics_data.py). Prints one JSON object; the machine is
shared: quote the ratios and medians, not single times.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics_data import dataset_dir, open_dataset
from query_cases import COHORTS, METRICS, TRENDS, TZ, WORKSPACE, Case
from query_cases_persons import PERSONS
from query_cases_sequences import SEQUENCES

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.registry import KINDS
from opsloop.analytics.service import parse_query, run_query

CASES: list[Case] = [*TRENDS, *METRICS, *COHORTS, *SEQUENCES, *PERSONS]


def engine_runner(request: dict[str, Any]) -> Callable[[QueryContext], dict[str, Any]]:
    """The engine's Python API for a request: parse (validation included) and run, no cache."""
    return lambda ctx: run_query(ctx, parse_query(request))


def same(a: Any, b: Any) -> bool:
    """Equal shapes; floats equal to 1e-9 relative (sums in another order differ in the last
    bits), everything else exactly."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def first_difference(a: Any, b: Any) -> str:
    """A short description of where two canonical answers differ (for the report)."""
    if isinstance(a, dict) and isinstance(b, dict):
        only = sorted(map(str, a.keys() ^ b.keys()))[:3]
        if only:
            return f"keys only on one side: {only}"
        for k in a:
            if not same(a[k], b[k]):
                return f"at {k!r}: {a[k]!r} != {b[k]!r}"
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not same(x, y):
                return f"at [{i}]: {first_difference(x, y)}"
    return f"{str(a)[:200]} != {str(b)[:200]}"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def cpu_seconds() -> float:
    """CPU time of this process so far, all its threads (DuckDB's workers included)."""
    t = os.times()
    return t.user + t.system


def alternate(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, list[float]]:
    """Run each function `runs` times, interleaved (a, b, a, b, ...): wall seconds of each run
    under the function's name, CPU seconds under name + "_cpu"."""
    times: dict[str, list[float]] = {k: [] for name in fns for k in (name, f"{name}_cpu")}
    for _ in range(runs):
        for name, fn in fns.items():
            cpu = cpu_seconds()
            times[name].append(timed(fn)[0])
            times[f"{name}_cpu"].append(cpu_seconds() - cpu)
            print(f"  {name}: {times[name][-1]:.3f} s", file=sys.stderr, flush=True)
    return times


def reset_peak_rss() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def stats(times: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    out = {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}
    if cpu is not None:
        out["cpu_median_s"] = round(statistics.median(cpu), 3)
    return out


def measure_case(case: Case, ctx: QueryContext, runs: int) -> dict[str, Any]:
    """Check the engine's answer against the hand-written one, then time both."""
    store = ctx.engine.store  # type: ignore[attr-defined]
    run_engine = engine_runner(case.request)

    def hand() -> list[tuple[Any, ...]]:
        cur = store.cursor()
        try:
            return cur.execute(case.sql).fetchall()
        finally:
            cur.close()

    reset_peak_rss()
    print(f"{case.name}: first runs", file=sys.stderr, flush=True)
    cpu = cpu_seconds()
    first_sql_s, rows = timed(hand)
    sql_cpu = cpu_seconds() - cpu
    first_engine_s, answer = timed(lambda: run_engine(ctx))
    engine_cpu = cpu_seconds() - cpu - sql_cpu
    print(f"  sql {first_sql_s:.3f} s, engine {first_engine_s:.3f} s", file=sys.stderr, flush=True)
    want, got = case.canon_sql(rows), case.canon_engine(answer)
    row: dict[str, Any] = {
        "same_answer": same(got, want),
        "first_run": {"engine_s": round(first_engine_s, 3), "sql_s": round(first_sql_s, 3)},
    }
    if not row["same_answer"]:
        row["difference"] = first_difference(got, want)
        return row
    if runs > 0:
        times = alternate({"engine": lambda: run_engine(ctx), "sql": hand}, runs)
    else:  # --runs 0: the checked first runs are the figures (the 100M world: one run each)
        times = {"engine": [first_engine_s], "engine_cpu": [engine_cpu]}
        times |= {"sql": [first_sql_s], "sql_cpu": [sql_cpu]}
    eng, sql = statistics.median(times["engine"]), statistics.median(times["sql"])
    row.update(
        engine=stats(times["engine"], times["engine_cpu"]),
        handwritten_sql=stats(times["sql"], times["sql_cpu"]),
        engine_over_sql=round(eng / sql, 2),
        engine_over_sql_cpu=round(
            statistics.median(times["engine_cpu"]) / statistics.median(times["sql_cpu"]), 2
        ),
        peak_rss_mb=peak_rss_mb(),
    )
    row["canonical"] = want
    return row


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs of each; 0: the first (checked) runs only"
    )
    parser.add_argument("--pandas-runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-chdb", action="store_true")
    parser.add_argument("--rest", action="store_true", help="also time through opsloop serve")
    parser.add_argument("--no-cache-case", action="store_true")
    parser.add_argument("--rest-dir", default="", help="scratch folder for the server's copy")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c.name in args.only.split(",")]
    # A kind this build does not register yet (a branch not landed) is named, not timed.
    missing = [c.name for c in cases if c.request["kind"] not in KINDS]
    cases = [c for c in cases if c.request["kind"] in KINDS]
    store = open_dataset(args.users, args.days)
    ctx = QueryContext(WORKSPACE, TZ, DuckDbEngine(store))
    out: dict[str, Any] = {
        "benchmark": "queries",
        "events": store.count_events(WORKSPACE),
        "users": args.users,
        "runs": args.runs,
        "machine": f"{platform.machine()} × {os.cpu_count()}, Python {platform.python_version()}",
        "load_average_before": load_average(),
        "cases": {},
    }
    if missing:
        out["kind_not_registered"] = missing
    answers: dict[str, Any] = {}
    for case in cases:
        row = measure_case(case, ctx, args.runs)
        answers[case.name] = row.pop("canonical", None)
        out["cases"][case.name] = row
        print(json.dumps({case.name: row}, ensure_ascii=False), file=sys.stderr, flush=True)
    if not args.no_chdb and any(c.name.startswith("funnel") for c in cases):
        from query_chdb import measure_window_funnel

        wf = measure_window_funnel(store, max(args.runs, 1), answers)
        funnel = out["cases"].get("funnel_4step_24h", {})
        if "engine" in funnel:
            for spelling in ("joined", "prepared_table"):
                ratio = funnel["engine"]["median_s"] / wf[f"window_funnel_{spelling}"]["median_s"]
                wf[f"engine_over_window_funnel_{spelling}"] = round(ratio, 2)
        out["chdb_window_funnel"] = wf
        print(json.dumps(out["chdb_window_funnel"]), file=sys.stderr, flush=True)
    out["bench_process_peak_rss_mb"] = peak_rss_mb()
    store.close()
    if not args.no_pandas:
        from query_pandas import measure_pandas

        measure_pandas(dataset_dir(args.users, args.days), cases, answers, out, args.pandas_runs)
    if args.rest:
        from query_rest import measure_rest

        measure_rest(dataset_dir(args.users, args.days), cases, answers, out, args)
    out["load_average_after"] = load_average()
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
