"""Bulk import throughput: events/s of `opsloop import` for Parquet and CSV (no server running,
so the import writes the event store itself), each beside the ceiling measured in the same run:
DuckDB's own bulk `INSERT INTO t SELECT * FROM read_parquet(...)` / `read_csv(...)` of the same
file into a plain table of a fresh database file.

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--users 100000] [--repeat 1]

The files are generated in a temporary folder: order-like events (event, distinct_id, timestamp,
amount, category, qty, first_order) of --users users over 90 days, one row in 1,000 broken (no
distinct_id) so that the quarantine path runs too. Each import goes into a fresh data folder;
afterwards the stored events are counted and must equal the accepted ones. With --repeat N the
best of N runs is kept for each measurement. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opsloop.db import open_database  # noqa: E402
from opsloop.events import open_event_store  # noqa: E402
from opsloop.importer.service import ImportRequest, ImportSummary, run_import  # noqa: E402
from opsloop.settings import Settings  # noqa: E402
from opsloop.workspaces.service import create_workspace  # noqa: E402

TARGETS = {"parquet": 1_000_000, "csv": 300_000}
EVENTS = ["app_open", "view_item", "add_to_cart", "checkout", "pay", "share", "read_article"]
CATEGORIES = ["服装", "数码", "食品", "美妆", "家居"]
BROKEN_EVERY = 1000


def orders_table(rows: int, users: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    start_us = 1_735_689_600_000_000  # 2025-01-01
    distinct_ids = np.char.add("u", rng.integers(0, users, rows).astype(str)).astype(object)
    distinct_ids[::BROKEN_EVERY] = None
    return pa.table(
        {
            "event": np.array(EVENTS)[rng.integers(0, len(EVENTS), rows)],
            "distinct_id": pa.array(distinct_ids, pa.string()),
            "timestamp": pa.array(
                start_us + rng.integers(0, 90 * 86_400_000_000, rows), pa.int64()
            ).cast(pa.timestamp("us", tz="UTC")),
            "amount": np.round(rng.random(rows) * 500, 2),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)],
            "qty": rng.integers(1, 6, rows),
            "first_order": rng.random(rows) < 0.2,
        }
    )


def best_of(repeat: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    results = [run() for _ in range(repeat)]
    return min(results, key=lambda r: float(r["seconds"]))


def baseline(file: Path, reader: str, folder: Path) -> dict[str, Any]:
    """DuckDB reading the file into a plain table: the ceiling for any import of it."""
    path = folder / f"baseline-{time.monotonic_ns()}.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{file}') LIMIT 0")
        started = time.perf_counter()
        con.execute(f"INSERT INTO t SELECT * FROM {reader}('{file}')")
        con.close()  # the checkpoint is part of the load, as it is of an import
        seconds = time.perf_counter() - started
        con = duckdb.connect(str(path), read_only=True)
        (rows,) = con.execute("SELECT count(*) FROM t").fetchall()[0]
    finally:
        con.close()
        path.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": int(rows)}


def unchecked_store(file: Path, reader: str, folder: Path) -> dict[str, Any]:
    """The file's rows into an empty event store with no check at all (random ids, the other
    columns as one JSON object, no persons): what storing alone costs, whatever the checks."""
    path = folder / f"unchecked-{time.monotonic_ns()}.duckdb"
    store = open_event_store(path)
    con = store.cursor()
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}('{file}')").fetchall()]
    core = ("event", "distinct_id", "timestamp")
    props = ", ".join(f"'{c}': {c}" for c in columns if c not in core)
    try:
        started = time.perf_counter()
        con.execute(
            "INSERT INTO events (uuid, workspace_id, event, distinct_id, timestamp, received_at,"
            " properties, source) SELECT gen_random_uuid(), 1, event, coalesce(distinct_id, ''),"
            f" CAST(timestamp AS TIMESTAMPTZ), now(), to_json({{{props}}}), 'import'"
            f" FROM {reader}('{file}')"
        )
        con.close()
        store.close()  # the checkpoint is part of the load, as it is of an import
        seconds = time.perf_counter() - started
    finally:
        path.unlink(missing_ok=True)
    return {"seconds": seconds}


class StageClock:
    """An ImportProgress that notes when each phase of the import began."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def phase(self, description: str, total: int | None, unit: str) -> None:
        self.marks.append((description.split()[0].lower(), time.perf_counter()))

    def advance(self, amount: int) -> None:
        pass

    def update(self, completed: int) -> None:
        pass

    def stages(self, end: float) -> dict[str, float]:
        ends = [t for _, t in self.marks[1:]] + [end]
        return {name: round(e - t, 3) for (name, t), e in zip(self.marks, ends, strict=True)}


def import_once(file: Path, folder: Path) -> dict[str, Any]:
    data_dir = folder / f"data-{time.monotonic_ns()}"
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True)
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            create_workspace(s, "bench")
        clock = StageClock()
        started = time.perf_counter()
        summary: ImportSummary = run_import(
            settings, db, ImportRequest(file, "bench"), progress=clock
        )
        seconds = time.perf_counter() - started
        stages = clock.stages(time.perf_counter())
    finally:
        db.close()
    store = open_event_store(settings.event_store_path, read_only=True)
    stored = store.count_events()
    store.close()
    assert summary.read == summary.accepted + summary.quarantined + summary.duplicates
    assert stored == summary.accepted, (stored, summary)
    return {
        "seconds": seconds,
        "read": summary.read,
        "accepted": summary.accepted,
        "quarantined": summary.quarantined,
        "duplicates": summary.duplicates,
        "stages_seconds": stages,
    }


def measure(fmt: str, file: Path, reader: str, folder: Path, repeat: int) -> dict[str, Any]:
    ceiling = best_of(repeat, lambda: baseline(file, reader, folder))
    ours = best_of(repeat, lambda: import_once(file, folder))
    bare = best_of(repeat, lambda: unchecked_store(file, reader, folder))
    rows = ours["read"]
    rate = rows / ours["seconds"]
    ceiling_rate = ceiling["rows"] / ceiling["seconds"]
    return {
        "file_bytes": file.stat().st_size,
        "import": {**ours, "seconds": round(ours["seconds"], 3), "events_per_s": round(rate)},
        "baseline": {
            "what": f"DuckDB INSERT INTO plain table SELECT * FROM {reader}(file)",
            "seconds": round(ceiling["seconds"], 3),
            "events_per_s": round(ceiling_rate),
        },
        "ratio_to_baseline": round(rate / ceiling_rate, 3),
        "unchecked_store": {
            "what": "the same rows into an empty event store with no check, random ids, no persons",
            "seconds": round(bare["seconds"], 3),
            "events_per_s": round(rows / bare["seconds"]),
        },
        "target_events_per_s": TARGETS[fmt],
        "meets_target": rate >= TARGETS[fmt],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsloop-bench-import-") as tmp:
        folder = Path(tmp)
        table = orders_table(args.rows, args.users)
        parquet = folder / "orders.parquet"
        pq.write_table(table, parquet)
        csv = folder / "orders.csv"
        pacsv.write_csv(table, csv)
        del table
        result = {
            "benchmark": "import",
            "rows": args.rows,
            "users": args.users,
            "broken_rows": (args.rows + BROKEN_EVERY - 1) // BROKEN_EVERY,
            "repeat": args.repeat,
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "python": platform.python_version(),
                "duckdb": duckdb.__version__,
            },
            "parquet": measure("parquet", parquet, "read_parquet", folder, args.repeat),
            "csv": measure("csv", csv, "read_csv", folder, args.repeat),
        }
        result["machine"]["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
