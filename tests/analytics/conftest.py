"""One small demo world per test session, in DuckDB and in ClickHouse (chdb), plus the same
events as a pandas frame with persons resolved: the independent reference's input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import orjson
import pandas as pd
import pytest

from opsloop.analytics.clickhouse import export_parquet, load_parquet
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import ChdbEngine, DuckDbEngine
from opsloop.demo import build_demo_world
from opsloop.events import EventStore, open_event_store
from tests.analytics.logs import ChdbPool, chdb_pool

__all__ = ["World", "chdb_pool", "world"]

WORKSPACE = 1
TZ = "Asia/Shanghai"
END = date(2026, 11, 15)


@dataclass
class World:
    store: EventStore
    duck: QueryContext
    ch: QueryContext
    events: pd.DataFrame  # one row per event: person_id, event, ts (UTC), local (naive), props
    persons: pd.DataFrame  # person_id, properties (dict)
    truths: dict[str, object]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, chdb_pool: ChdbPool) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("world")
    store = open_event_store(folder / "events.duckdb")
    build_demo_world(store, WORKSPACE, folder, users=1500, days=35, seed=7, end_date=END)
    cur = store.cursor()
    paths = export_parquet(cur, folder / "parquet")
    load_parquet(chdb_pool.session, paths, "world")
    events = cur.execute(
        "SELECT CAST(m.person_id AS VARCHAR) AS person_id, e.event, e.distinct_id,"
        " e.timestamp AS ts, CAST(e.properties AS VARCHAR) AS properties"
        " FROM events e JOIN person_distinct_ids m USING (workspace_id, distinct_id)"
    ).df()
    events["ts"] = pd.to_datetime(events["ts"], utc=True)
    events["local"] = events["ts"].dt.tz_convert(TZ).dt.tz_localize(None)
    events["props"] = [orjson.loads(p) for p in events["properties"]]
    persons = cur.execute(
        "SELECT CAST(id AS VARCHAR) AS person_id, CAST(properties AS VARCHAR) AS properties"
        " FROM persons"
    ).df()
    persons["props"] = [orjson.loads(p) for p in persons["properties"]]
    cur.close()
    truths = orjson.loads((folder / "truths.json").read_bytes())
    yield World(
        store,
        QueryContext(WORKSPACE, TZ, DuckDbEngine(store)),
        QueryContext(WORKSPACE, TZ, ChdbEngine(chdb_pool.session, "world")),
        events,
        persons,
        truths,
    )
    store.close()
