"""The event store's tables in ClickHouse, and loading them from Parquet (chdb in the tests).

Materialized properties become MATERIALIZED columns: ClickHouse fills them on insert from the
same expression the ClickHouse dialect reads the JSON with, as PostHog does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from opsloop.analytics.dialect import ClickHouseDialect, MaterializedMap

if TYPE_CHECKING:
    from opsloop.analytics.engine import ChdbEngine

CLICKHOUSE_DDL = [
    """CREATE TABLE IF NOT EXISTS events (
        uuid UUID, workspace_id Int32, event String, distinct_id String,
        timestamp DateTime64(6, 'UTC'), received_at DateTime64(6, 'UTC'), properties String,
        session_id Nullable(String), lib Nullable(String), os Nullable(String),
        url Nullable(String), source Nullable(String)
    ) ENGINE = MergeTree ORDER BY (workspace_id, event, timestamp)""",
    """CREATE TABLE IF NOT EXISTS persons (
        workspace_id Int32, id UUID, properties String, is_identified Bool,
        created_at DateTime64(6, 'UTC')
    ) ENGINE = MergeTree ORDER BY (workspace_id, id)""",
    """CREATE TABLE IF NOT EXISTS person_distinct_ids (
        workspace_id Int32, distinct_id String, person_id UUID
    ) ENGINE = MergeTree ORDER BY (workspace_id, distinct_id)""",
    """CREATE TABLE IF NOT EXISTS materialized_properties (
        workspace_id Int32, key String, kind String, column_name String
    ) ENGINE = MergeTree ORDER BY (workspace_id, key, kind)""",
]

# Loaded in this order: the registry first, so that events meet their materialized columns.
TABLES = ("materialized_properties", "events", "persons", "person_distinct_ids")
COLUMNS = {
    "events": "uuid, workspace_id, event, distinct_id, timestamp, received_at, properties,"
    " session_id, lib, os, url, source",
    "persons": "workspace_id, id, properties, is_identified, created_at",
    "person_distinct_ids": "workspace_id, distinct_id, person_id",
    "materialized_properties": "workspace_id, key, kind, column_name",
}
CLICKHOUSE_TYPES = {"text": "Nullable(String)", "number": "Nullable(Float64)"}


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Path]:
    """Write the DuckDB event store's tables to Parquet files (UUIDs as text), and the
    materialized properties whose backfill is done."""
    folder.mkdir(parents=True, exist_ok=True)
    queries = {
        "events": "SELECT CAST(uuid AS VARCHAR) AS uuid, workspace_id, event, distinct_id,"
        " timestamp, received_at, CAST(properties AS VARCHAR) AS properties, session_id, lib,"
        " os, url, source FROM events",
        "persons": "SELECT workspace_id, CAST(id AS VARCHAR) AS id,"
        " CAST(properties AS VARCHAR) AS properties, is_identified, created_at FROM persons",
        "person_distinct_ids": "SELECT workspace_id, distinct_id,"
        " CAST(person_id AS VARCHAR) AS person_id FROM person_distinct_ids",
        "materialized_properties": "SELECT workspace_id, key, kind, column_name"
        " FROM materialized_properties WHERE ready",
    }
    paths = {}
    for table, sql in queries.items():
        path = folder / f"{table}.parquet"
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
        paths[table] = path
    return paths


def load_parquet(session: Any, paths: dict[str, Path], database: str = "opsloop") -> None:
    """Create the tables in a ClickHouse database and fill them from `export_parquet` files."""
    session.query(f"CREATE DATABASE IF NOT EXISTS {database}")
    session.query(f"USE {database}")
    for ddl in CLICKHOUSE_DDL:
        session.query(ddl)
    for table in TABLES:
        session.query(f"TRUNCATE TABLE {table}")
    for table in TABLES:
        path = str(paths[table]).replace("'", "\\'")
        session.query(
            f"INSERT INTO {table} ({COLUMNS[table]}) SELECT {COLUMNS[table]}"
            f" FROM file('{path}', Parquet)"
        )
        if table == "materialized_properties":
            add_materialized_columns(session)


def add_materialized_columns(session: Any) -> None:
    """Give the current database's events a MATERIALIZED column per registered property (kept
    when there already is one: a column's name stands for its key and kind). Rows inserted from
    then on get it; rows already stored need `ALTER TABLE events MATERIALIZE COLUMN` (load_parquet
    adds the columns to an empty table)."""
    dialect = ClickHouseDialect()
    rows = session.query(
        "SELECT DISTINCT column_name, key, kind FROM materialized_properties", "ArrowTable"
    ).to_pylist()
    for row in rows:
        column, key, kind = row["column_name"], row["key"], row["kind"]
        extract = dialect.json_text if kind == "text" else dialect.json_number
        session.query(
            f"ALTER TABLE events ADD COLUMN IF NOT EXISTS `{column}` {CLICKHOUSE_TYPES[kind]}"
            f" MATERIALIZED {extract('properties', key)}"
        )


def materialized_columns(engine: ChdbEngine) -> dict[int, MaterializedMap]:
    """workspace → (key, kind) → column, of the registry rows whose column the events have."""
    present = {
        name
        for (name,) in engine.rows(
            "SELECT name FROM system.columns WHERE database = currentDatabase()"
            " AND table = 'events'"
        )
    }
    if "materialized_properties" not in {
        name
        for (name,) in engine.rows(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        )
    }:
        return {}
    result: dict[int, dict[tuple[Any, Any], str]] = {}
    for ws, key, kind, column in engine.rows(
        "SELECT workspace_id, key, kind, column_name FROM materialized_properties"
    ):
        if column in present and kind in ("text", "number"):
            result.setdefault(int(ws), {})[(key, kind)] = column
    return dict(result)
