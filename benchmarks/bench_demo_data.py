"""Demo world build time: `build_demo_world` for 20,000 users × 90 days into a fresh data folder.

Two baselines measured in the same run:
- naive: a straightforward per-user Python generator of the same kind of events (a dict and a
  json.dumps per event, seeded `random`, written with the same `append_table`), run on a few
  users and scaled to the build's event count. `ratio` = its projected time ÷ the build's time;
  `generation_ratio` compares generating only (the build's time less its writes and truths).
- write_floor: only `append_table` of the build's own rows, re-read and appended into another
  fresh store: what the build would cost if generating the events were free.

    .venv/bin/python benchmarks/bench_demo_data.py [--users 20000] [--days 90] [--seed 42]
        [--baseline-users 1000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas  # noqa: F401  (pyarrow imports it lazily; keep that out of the timings)
import pyarrow as pa

from opsloop.demo import build_demo_world
from opsloop.events import open_event_store
from opsloop.events.schema import EVENT_ARROW_SCHEMA

CHANNELS = ["应用商店", "抖音信息流", "小红书", "微信裂变", "百度搜索", "自然流量"]
REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北"]
PLATFORMS = ["iOS", "Android", "小程序"]


def naive_events(users: int, days: int, seed: int) -> list[dict[str, Any]]:
    """Events of `users` users over `days` days, one Python object at a time."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 15, tzinfo=UTC) - timedelta(days=days)
    rows: list[dict[str, Any]] = []
    for u in range(users):
        base = {
            "platform": rng.choice(PLATFORMS),
            "channel": rng.choice(CHANNELS),
            "region": rng.choice(REGIONS),
        }
        signup = rng.randrange(days)
        loyal = rng.random() < 0.15
        for day in range(signup, days):
            t = day - signup
            p = (
                1.0
                if t == 0
                else 0.4
                if t == 1
                else (0.55 if loyal else 0.045 + 0.28 * math.exp(-(t - 2) / 4))
            )
            if rng.random() >= p:
                continue
            session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            ts = start + timedelta(days=day, hours=7 + rng.random() * 15)
            names = ["app_open"] + (["sign_up"] if t == 0 else [])
            names += ["view_item"] * int(rng.expovariate(1 / 2.4)) + ["read_article"] * int(
                rng.expovariate(1 / 1.1)
            )
            names += ["use_feature"] if rng.random() < 0.5 else []
            names += ["checkout", "pay"] if rng.random() < 0.08 else []
            for name in names:
                ts += timedelta(seconds=2 + rng.expovariate(1 / 25))
                props = dict(base, **{"$session_id": session, "$lib": "naive", "$os": "iOS"})
                if name == "pay":
                    props |= {"amount": round(rng.uniform(9, 999), 2), "order_id": f"o{len(rows)}"}
                rows.append(
                    {
                        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "workspace_id": 1,
                        "event": name,
                        "distinct_id": f"u{u:07d}",
                        "timestamp": ts,
                        "received_at": ts + timedelta(seconds=1),
                        "properties": json.dumps(props, ensure_ascii=False),
                        "session_id": session,
                        "lib": "naive",
                        "os": "iOS",
                        "url": None,
                        "source": "demo",
                    }
                )
    return rows


def measure_naive(tmp: Path, users: int, days: int, seed: int) -> dict[str, float]:
    store = open_event_store(tmp / "naive" / "events.duckdb")
    try:
        t0 = time.perf_counter()
        rows = naive_events(users, days, seed)
        tables = [
            pa.Table.from_pylist(rows[lo : lo + 250_000], schema=EVENT_ARROW_SCHEMA)
            for lo in range(0, len(rows), 250_000)
        ]
        generated = time.perf_counter() - t0
        for table in tables:
            store.append_table(table, dedupe="none")
        seconds = time.perf_counter() - t0
    finally:
        store.close()
    return {
        "users": users,
        "events": len(rows),
        "seconds": seconds,
        "generate_seconds": generated,
        "events_per_s": len(rows) / seconds,
    }


def measure_write_floor(source: Path, tmp: Path) -> dict[str, float]:
    """Append the built events again, unchanged, into a fresh store."""
    built = open_event_store(source, read_only=True)
    cur = built.cursor()
    table = cur.sql(
        "SELECT CAST(uuid AS VARCHAR) AS uuid, workspace_id, event, distinct_id, timestamp,"
        " received_at, CAST(properties AS VARCHAR) AS properties, session_id, lib, os, url,"
        " source FROM events ORDER BY timestamp"
    ).to_arrow_table()
    cur.close()
    built.close()
    store = open_event_store(tmp / "floor" / "events.duckdb")
    try:
        t0 = time.perf_counter()
        for batch in table.to_batches(max_chunksize=250_000):
            store.append_table(pa.Table.from_batches([batch]), dedupe="none")
        seconds = time.perf_counter() - t0
    finally:
        store.close()
    return {"events": table.num_rows, "seconds": seconds, "events_per_s": table.num_rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baseline-users", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "demo"
        store = open_event_store(data_dir / "events.duckdb")
        ticks: list[float] = []
        t0 = time.perf_counter()
        try:
            summary = build_demo_world(
                store, 1, data_dir, users=args.users, days=args.days, seed=args.seed,
                progress=lambda done, total: ticks.append(time.perf_counter() - t0),
            )  # fmt: skip
            seconds = time.perf_counter() - t0
        finally:
            store.close()
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor = measure_write_floor(data_dir / "events.duckdb", tmp)
        naive = measure_naive(tmp, args.baseline_users, args.days, args.seed)
    projected = summary.events / naive["events_per_s"]
    truths_seconds = seconds - ticks[-2]
    # The build's own generating time: what is left after writing and measuring truths.
    generating = max(seconds - floor["seconds"] - truths_seconds, 1e-9)
    naive_generating = naive["generate_seconds"] * summary.events / naive["events"]
    result = {
        "benchmark": "demo_data",
        "users": args.users,
        "days": args.days,
        "seed": args.seed,
        "events": summary.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(summary.events / seconds),
        "truths_seconds": round(truths_seconds, 3),
        "generating_seconds": round(generating, 3),
        "peak_rss_mb": round(peak_rss_mb),
        "baseline": {
            "kind": "naive per-user Python generator, same append_table, scaled to the events",
            **{k: round(v, 3) for k, v in naive.items()},
            "projected_seconds": round(projected, 3),
        },
        "ratio": round(projected / seconds, 2),
        "generation_ratio": round(naive_generating / generating, 2),
        "write_floor": {
            "kind": "append_table of the same rows, pre-generated",
            **{k: round(v, 3) for k, v in floor.items()},
            "share_of_build": round(floor["seconds"] / seconds, 3),
        },
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
