"""Where compiled SQL runs: the DuckDB event store, or ClickHouse (chdb in tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from opsloop.analytics.clickhouse import materialized_columns
from opsloop.analytics.dialect import ClickHouseDialect, Dialect, DuckDbDialect, MaterializedMap
from opsloop.events import EventStore
from opsloop.events.materialized import PropertyKind


class Engine(Protocol):
    dialect: Dialect

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def dialect_for(self, workspace_id: int) -> Dialect:
        """The dialect compiling a workspace's queries: it knows its materialized properties."""
        ...

    @property
    def data_version(self) -> int: ...


class DuckDbEngine:
    """Runs queries on the event store's DuckDB database (a cursor of its own per query).
    `materialized=False` reads every event property from the JSON (the benchmark's and the
    tests' comparison)."""

    dialect: Dialect = DuckDbDialect()

    def __init__(self, store: EventStore, *, materialized: bool = True) -> None:
        self.store = store
        self.use_materialized = materialized

    @property
    def data_version(self) -> int:
        return self.store.data_version

    def dialect_for(self, workspace_id: int) -> Dialect:
        columns = self.store.materialized.ready(workspace_id) if self.use_materialized else {}
        usage = self.store.property_usage

        def record(key: str, kind: PropertyKind) -> None:
            usage.record(workspace_id, key, kind)

        return DuckDbDialect(columns, record)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.store.cursor()
        try:
            return cur.execute(sql).fetchall()
        finally:
            cur.close()

    @contextmanager
    def snapshot(self) -> Iterator[DuckDbSnapshot]:
        """Several statements that see the same data (one read transaction), for answers computed
        partly in Python between two queries."""
        cur = self.store.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            yield DuckDbSnapshot(cur)
        finally:
            cur.execute("ROLLBACK")
            cur.close()


class DuckDbSnapshot:
    """A cursor inside one read transaction: rows, numpy columns, and Arrow tables of its own
    that its queries can read by name."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.cur = cur

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.cur.execute(sql).fetchall()

    def columns(self, sql: str) -> dict[str, np.ndarray]:
        """The result as one numpy array per column (for columns without NULLs)."""
        return {k: np.asarray(v) for k, v in self.cur.execute(sql).fetchnumpy().items()}

    def register(self, name: str, table: pa.Table) -> None:
        self.cur.register(name, table)

    def threads(self) -> int:
        """The threads DuckDB may use (its `threads` setting): how many a query's own numpy work
        may use too."""
        return int(self.cur.execute("SELECT current_setting('threads')").fetchall()[0][0])


# Session settings every ClickHouse connection gets. Static segments are inlined as lists of
# person ids (~40 bytes each): the default max_query_size (256 KiB) refuses one of ~6,500
# persons; 64 MiB holds about 1.6 million.
CLICKHOUSE_SETTINGS: dict[str, int] = {"max_query_size": 64 * 1024 * 1024}


class ChdbEngine:
    """Runs queries on ClickHouse's engine in-process (chdb), over tables named like ours,
    materialized properties included (analytics/clickhouse.py creates them)."""

    dialect: Dialect = ClickHouseDialect()

    def __init__(
        self,
        session: Any,
        database: str = "opsloop",
        data_version: int = 0,
        *,
        materialized: bool = True,
    ) -> None:
        self.session = session
        self.database = database
        self._version = data_version
        for name, value in CLICKHOUSE_SETTINGS.items():  # they last as long as the session
            session.query(f"SET {name} = {int(value)}")
        self.use_materialized = materialized
        self._materialized: dict[int, MaterializedMap] | None = None

    @property
    def data_version(self) -> int:
        return self._version

    def dialect_for(self, workspace_id: int) -> Dialect:
        if not self.use_materialized:
            return self.dialect
        if self._materialized is None:
            self._materialized = materialized_columns(self)
        return ClickHouseDialect(self._materialized.get(workspace_id, {}))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        # One embedded ClickHouse per process: each engine selects its own database.
        self.session.query(f"USE {self.database}")
        table = self.session.query(sql, "ArrowTable")
        return [tuple(r.values()) for r in table.to_pylist()]
