"""ClickHouse's own funnel, `windowFunnel`, on the benchmark's funnel (chdb, in-process): the
speed the engine's funnel aims for. Two spellings are timed: over the events joined to the
distinct_id → person map at query time (what the engine does: the funnel's events in a table
ordered like the ClickHouse event store's, (workspace_id, event, timestamp)), and over a table
prepared for it (persons resolved, ordered by (person, time)), the best case."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chdb import session as chdb_session
from query_cases import D0, D1, FUNNEL, TZ, WINDOW_S, WORKSPACE, events_in, ts

from opsloop.events import EventStore

NAMES = ", ".join(f"'{e}'" for e in FUNNEL)
W_US = WINDOW_S * 1_000_000


def _export(store: EventStore, folder: Path) -> dict[str, Path]:
    paths = {"events": folder / "events.parquet", "map": folder / "map.parquet"}
    end = f"{ts(D1 + timedelta(1))} + INTERVAL {WINDOW_S} SECOND"
    cur = store.cursor()
    try:
        cur.execute(
            "COPY (SELECT e.workspace_id, e.event, e.distinct_id, e.timestamp FROM events e"
            f" WHERE e.event IN ({NAMES}) AND e.timestamp < {end}) TO '{paths['events']}'"
            " (FORMAT parquet)"
        )
        cur.execute(
            "COPY (SELECT workspace_id, distinct_id, CAST(person_id AS VARCHAR) AS person_id"
            f" FROM person_distinct_ids) TO '{paths['map']}' (FORMAT parquet)"
        )
        cur.execute(
            f"COPY (SELECT CAST(m.person_id AS VARCHAR) AS p, epoch_us(e.timestamp) AS t, e.event"
            f" {events_in(D0, D1 + timedelta(2))} AND e.event IN ({NAMES})"
            f" AND e.timestamp < {end}) TO '{folder / 'prepared.parquet'}' (FORMAT parquet)"
        )
    finally:
        cur.close()
    paths["prepared"] = folder / "prepared.parquet"
    return paths


def _load(sess: Any, paths: dict[str, Path]) -> None:
    sess.query("CREATE DATABASE IF NOT EXISTS bench")
    sess.query("USE bench")
    sess.query(
        "CREATE TABLE events (workspace_id Int32, event LowCardinality(String),"
        " distinct_id String, timestamp DateTime64(6, 'UTC'))"
        " ENGINE = MergeTree ORDER BY (workspace_id, event, timestamp)"
    )
    sess.query(
        "CREATE TABLE person_distinct_ids (workspace_id Int32, distinct_id String,"
        " person_id UUID) ENGINE = MergeTree ORDER BY (workspace_id, distinct_id)"
    )
    sess.query(
        "CREATE TABLE prepared (p String, t UInt64, event LowCardinality(String))"
        " ENGINE = MergeTree ORDER BY (p, t)"
    )
    for table, path in (
        ("events", paths["events"]),
        ("person_distinct_ids", paths["map"]),
        ("prepared", paths["prepared"]),
    ):
        sess.query(f"INSERT INTO {table} SELECT * FROM file('{path}', Parquet)")


def _hi_us() -> int:
    end = datetime.combine(D1 + timedelta(1), datetime.min.time(), ZoneInfo(TZ))
    return int(end.timestamp()) * 1_000_000


def _level_sql(time_col: str, event_col: str) -> str:
    conds = [f"{event_col} = '{FUNNEL[0]}' AND {time_col} < {_hi_us()}"]
    conds += [f"{event_col} = '{e}'" for e in FUNNEL[1:]]
    return f"windowFunnel({W_US}, 'strict_increase')({time_col}, {', '.join(conds)}) AS level"


def window_funnel_sql(joined: bool) -> str:
    """Persons reaching each step: windowFunnel's level per person, strict_increase (each step
    strictly later), window in µs from the step-1 event, step 1 only in the date range."""
    counts = ", ".join(f"countIf(level >= {k})" for k in range(1, len(FUNNEL) + 1))
    if not joined:
        return (
            f"SELECT {counts} FROM (SELECT p, {_level_sql('t', 'event')} FROM prepared GROUP BY p)"
        )
    lo = int(datetime.combine(D0, datetime.min.time(), ZoneInfo(TZ)).timestamp()) * 1_000_000
    t = "toUInt64(toUnixTimestamp64Micro(e.timestamp))"
    return (
        f"SELECT {counts} FROM (SELECT m.person_id AS p, {_level_sql(t, 'e.event')}"
        " FROM events AS e JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id"
        f" AND m.distinct_id = e.distinct_id WHERE e.workspace_id = {WORKSPACE}"
        f" AND e.event IN ({NAMES}) AND {t} >= {lo} AND {t} < {_hi_us() + W_US} GROUP BY p)"
        " HAVING count() > 0"
    )


def _time(sess: Any, sql: str, runs: int) -> tuple[dict[str, float], list[int]]:
    times, counts = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        table = sess.query(sql, "ArrowTable")
        times.append(time.perf_counter() - t0)
        counts = [int(col[0].as_py()) for col in table.columns]
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}, counts


def measure_window_funnel(store: EventStore, runs: int, answers: dict[str, Any]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="opsloop-bench-chdb-"))
    try:
        started = time.perf_counter()
        paths = _export(store, folder)
        sess = chdb_session.Session(str(folder / "db"))
        _load(sess, paths)
        load_s = time.perf_counter() - started
        joined_s, joined = _time(sess, window_funnel_sql(joined=True), runs)
        prepared_s, prepared = _time(sess, window_funnel_sql(joined=False), runs)
        sess.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    row: dict[str, Any] = {
        "window_funnel_joined": joined_s,
        "window_funnel_prepared_table": prepared_s,
        "load_s": round(load_s, 1),
        "counts": joined,
    }
    engine = answers.get("funnel_4step_24h")
    if engine is not None:
        want = [c for c, _ in engine]
        row["same_counts_as_engine"] = joined == want and prepared == want
    return row
