"""The analytics benchmarks' data: the demo world at benchmark scale, built once and reused.

    .venv/bin/python benchmarks/analytics_data.py [--users 200000] [--days 90]

Builds into $OPSLOOP_BENCH_DIR (default /tmp/opsloop-bench/<users>u<days>d) unless it is there
already, and prints its path. 200,000 users × 90 days is about 10M events; 2,000,000 users about
100M. Imported by the benchmark scripts.

Preparing a world has two steps, each done once and skipped when done:
1. build the demo world's events and persons (`build_demo_world`);
2. materialize its hot event properties (`HOT_PROPERTIES`, the demo world's own list: `channel`,
   `platform`, `region`, `category`, `feature`, `variant` as text and `amount` as a number), as a
   workspace that analyses them has them. A world built now gets them while it is written; a world
   built before materialized properties existed gets them here, backfilled in place through the
   product's path (`add_materialized`, what `opsloop property materialize` runs), without being
   rebuilt. The file MATERIALIZED in the folder records what step 2 did and how long it took.
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
from opsloop.demo.world import HOT_PROPERTIES  # noqa: E402
from opsloop.events import EventStore, open_event_store  # noqa: E402
from opsloop.events.materialized import PropertyKind, add_materialized  # noqa: E402

WORKSPACE = 1


def dataset_dir(users: int, days: int) -> Path:
    base = Path(os.environ.get("OPSLOOP_BENCH_DIR", "/tmp/opsloop-bench"))
    return base / f"{users}u{days}d"


def ensure_dataset(users: int, days: int, *, quiet: bool = False) -> Path:
    """The folder holding events.duckdb and truths.json for this size, built when missing, its
    hot properties materialized."""
    folder = dataset_dir(users, days)
    done = folder / "READY"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "events.duckdb").unlink(missing_ok=True)
        store = open_event_store(folder / "events.duckdb")
        started = time.perf_counter()

        def progress(i: int, n: int) -> None:
            if not quiet:
                print(f"building {users} users × {days} days: {i}/{n}", file=sys.stderr, flush=True)

        summary = build_demo_world(
            store, WORKSPACE, folder, users=users, days=days, progress=progress
        )
        store.close()
        done.write_text(f"{summary.events} events in {time.perf_counter() - started:.0f} s\n")
    materialize_hot_properties(folder, quiet=quiet)
    return folder


def missing_hot_properties(path: Path) -> list[tuple[str, PropertyKind]]:
    """The HOT_PROPERTIES not ready in the store's workspace (read-only look, no lock held)."""
    store = open_event_store(path, read_only=True)
    try:
        ready = store.materialized.ready(WORKSPACE)
    finally:
        store.close()
    return [(key, kind) for key, kind in HOT_PROPERTIES if (key, kind) not in ready]


def materialize_hot_properties(folder: Path, *, quiet: bool = False) -> None:
    """Step 2: give every hot property its column, backfilled from the stored JSON. Idempotent:
    a ready property is skipped, a backfill that was interrupted is run again."""
    path = folder / "events.duckdb"
    todo = missing_hot_properties(path)
    if not todo:
        return
    store = open_event_store(path)
    log = []
    try:
        for key, kind in HOT_PROPERTIES:
            if (key, kind) not in todo:
                continue
            started, cpu = time.perf_counter(), _cpu()

            def progress(i: int, n: int, key: str = key) -> None:
                if not quiet:
                    print(f"materializing {key}: slice {i}/{n}", file=sys.stderr, flush=True)

            made = add_materialized(store, WORKSPACE, key, kind, origin="demo", progress=progress)
            wall, cpu = time.perf_counter() - started, _cpu() - cpu
            log.append(
                f"{made.key} ({made.kind}) -> {made.column}: {wall:.0f} s wall, {cpu:.0f} s CPU,"
                f" load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        store.close()
    with (folder / "MATERIALIZED").open("a") as f:
        f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n")
        f.writelines(f"  {line}\n" for line in log)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def open_dataset(users: int, days: int) -> EventStore:
    return open_event_store(ensure_dataset(users, days) / "events.duckdb", read_only=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    print(ensure_dataset(args.users, args.days))
