"""The event store's tables in ClickHouse, and loading them from Parquet (chdb in the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

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
]

TABLES = ("events", "persons", "person_distinct_ids")
COLUMNS = {
    "events": "uuid, workspace_id, event, distinct_id, timestamp, received_at, properties,"
    " session_id, lib, os, url, source",
    "persons": "workspace_id, id, properties, is_identified, created_at",
    "person_distinct_ids": "workspace_id, distinct_id, person_id",
}


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Path]:
    """Write the DuckDB event store's tables to Parquet files (UUIDs as text)."""
    folder.mkdir(parents=True, exist_ok=True)
    queries = {
        "events": "SELECT CAST(uuid AS VARCHAR) AS uuid, workspace_id, event, distinct_id,"
        " timestamp, received_at, CAST(properties AS VARCHAR) AS properties, session_id, lib,"
        " os, url, source FROM events",
        "persons": "SELECT workspace_id, CAST(id AS VARCHAR) AS id,"
        " CAST(properties AS VARCHAR) AS properties, is_identified, created_at FROM persons",
        "person_distinct_ids": "SELECT workspace_id, distinct_id,"
        " CAST(person_id AS VARCHAR) AS person_id FROM person_distinct_ids",
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
        path = str(paths[table]).replace("'", "\\'")
        session.query(
            f"INSERT INTO {table} ({COLUMNS[table]}) SELECT {COLUMNS[table]}"
            f" FROM file('{path}', Parquet)"
        )
