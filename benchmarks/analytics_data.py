"""The analytics benchmarks' data: the demo world at benchmark scale, built once and reused.

    .venv/bin/python benchmarks/analytics_data.py [--users 200000] [--days 90]

Builds into $OPSLOOP_BENCH_DIR (default /tmp/opsloop-bench/<users>u<days>d) unless it is there
already, and prints its path. 200,000 users × 90 days is about 10M events; 2,000,000 users about
100M. Imported by the benchmark scripts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opsloop.demo import build_demo_world  # noqa: E402
from opsloop.events import EventStore, open_event_store  # noqa: E402

WORKSPACE = 1


def dataset_dir(users: int, days: int) -> Path:
    base = Path(os.environ.get("OPSLOOP_BENCH_DIR", "/tmp/opsloop-bench"))
    return base / f"{users}u{days}d"


def ensure_dataset(users: int, days: int, *, quiet: bool = False) -> Path:
    """The folder holding events.duckdb and truths.json for this size, built when missing."""
    folder = dataset_dir(users, days)
    done = folder / "READY"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.duckdb").unlink(missing_ok=True)
    store = open_event_store(folder / "events.duckdb")
    started = time.perf_counter()

    def progress(i: int, n: int) -> None:
        if not quiet:
            print(f"building {users} users × {days} days: {i}/{n}", file=sys.stderr, flush=True)

    summary = build_demo_world(store, WORKSPACE, folder, users=users, days=days, progress=progress)
    store.close()
    done.write_text(f"{summary.events} events in {time.perf_counter() - started:.0f} s\n")
    return folder


def open_dataset(users: int, days: int) -> EventStore:
    return open_event_store(ensure_dataset(users, days) / "events.duckdb", read_only=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    print(ensure_dataset(args.users, args.days))
