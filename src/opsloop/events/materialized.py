"""Materialized event properties: hot JSON properties copied into typed `mp_*` columns.

A workspace's registry says which (key, kind) pairs have a column; queries read the column
instead of parsing the JSON (analytics/dialect.py), every write fills the columns in the same
INSERT (`fill_expr`), and a new column is backfilled from the JSON in time slices, so live
ingestion waits at most one slice. The column's value is by construction the query-time
expression: the same DuckDB function on the same stored JSON (docs/decisions.md D7).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import duckdb

from opsloop.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from opsloop.events.store import EventStore

PropertyKind = Literal["text", "number"]
KINDS: tuple[PropertyKind, ...] = ("text", "number")
# json_type names of JSON numbers: a "number" column holds these, as DOUBLE.
NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE")
COLUMN_PREFIX = "mp_"
MAX_SLUG = 40
# One workspace's columns, at most: each one costs every insert an extraction.
MAX_PER_WORKSPACE = 64

_CLEAN_KEY = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

Progress = Callable[[int, int], None]


def check_property_key(key: str, field: str = "property") -> str:
    """A property key a JSON path can name safely (no quote, no backslash, not too long)."""
    if not key or '"' in key or "\\" in key or len(key) > 200:
        raise InvalidInput(f"invalid property name {key!r}", field)
    return key


def json_path(key: str) -> str:
    """The SQL string literal of the JSON path naming a top-level key."""
    return "'" + ('$."' + check_property_key(key) + '"').replace("'", "''") + "'"


def text_sql(json: str, key: str) -> str:
    """A property as text (numbers and booleans in their JSON spelling); NULL when absent."""
    return f"json_extract_string({json}, {json_path(key)})"


def number_sql(json: str, key: str) -> str:
    """A JSON number property as DOUBLE; NULL when absent or anything but a number (a string
    holding digits too: "10" is text), so that extraction never fails on a bad value."""
    path = json_path(key)
    types = ", ".join(f"'{t}'" for t in NUMBER_TYPES)
    return (
        f"(CASE WHEN json_type({json}, {path}) IN ({types})"
        f" THEN TRY_CAST(json_extract_string({json}, {path}) AS DOUBLE) END)"
    )


def column_for(key: str, kind: PropertyKind) -> str:
    """The column of (key, kind): `mp_<key>` for a plain lower-case key, else a slug and a
    hash of the key; number columns end in `__num` (a slug never holds two underscores)."""
    slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:MAX_SLUG].strip("_")
    if not _CLEAN_KEY.fullmatch(key) or len(key) > MAX_SLUG:
        digest = hashlib.sha1(key.encode()).hexdigest()
        slug = f"{slug}_{digest[:8]}" if slug else digest[:12]
    name = COLUMN_PREFIX + slug
    return name if kind == "text" else f"{name}__num"


@dataclass(frozen=True, slots=True)
class MaterializedProperty:
    workspace_id: int
    key: str
    kind: PropertyKind
    column: str
    origin: Literal["manual", "auto", "demo"]
    ready: bool  # False while its backfill runs: queries keep reading the JSON
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FillColumn:
    """A column every write fills: its name, and the key and kind it holds."""

    column: str
    key: str
    kind: PropertyKind


def fill_expr(c: FillColumn, json: str) -> str:
    """What a write (or a backfill) stores in `c`, from the properties `json` (the JSON text).
    Its value is text_sql's / number_sql's (tests/events/test_materialized.py checks it on random
    documents), spelled for the write path: each costs DuckDB about 0.1-0.2 ms to plan, which a
    live commit pays every time. A JSON number's text casts to DOUBLE; the JSON text of anything
    else (a quoted string, true, null, an object) does not, and TRY_CAST gives NULL."""
    if c.kind == "text":
        return text_sql(json, c.key)
    return f"TRY_CAST(CAST(json_extract({json}, {json_path(c.key)}) AS VARCHAR) AS DOUBLE)"


def quoted(column: str) -> str:
    return '"' + column + '"'


class MaterializedColumns:
    """The store's registry of materialized properties, cached in memory: the columns every
    write fills, and per workspace the ready ones queries may read."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.fill: tuple[FillColumn, ...] = ()
        self._ready: dict[int, Mapping[tuple[str, PropertyKind], str]] = {}
        self.reload(con)

    def reload(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the registry and the events table's `mp_` columns (a store opened read-only
        from an older version has neither: nothing is materialized)."""
        existing = {
            name
            for (name,) in con.execute("SELECT name FROM pragma_table_info('events')").fetchall()
        }
        rows = _registry_rows(con)
        fill: dict[str, FillColumn] = {}
        ready: dict[int, dict[tuple[str, PropertyKind], str]] = {}
        for p in rows:
            if p.column not in existing:
                continue
            fill.setdefault(p.column, FillColumn(p.column, p.key, p.kind))
            if p.ready:
                ready.setdefault(p.workspace_id, {})[(p.key, p.kind)] = p.column
        self.fill = tuple(sorted(fill.values(), key=lambda c: c.column))
        self._ready = dict(ready)

    def ready(self, workspace_id: int) -> Mapping[tuple[str, PropertyKind], str]:
        """(key, kind) → column of the workspace's materialized properties queries may read."""
        return self._ready.get(workspace_id, {})


def _registry_rows(con: duckdb.DuckDBPyConnection) -> list[MaterializedProperty]:
    try:
        rows = con.execute(
            "SELECT workspace_id, key, kind, column_name, origin, ready, created_at"
            " FROM materialized_properties ORDER BY workspace_id, key, kind"
        ).fetchall()
    except duckdb.CatalogException:  # a store from before materialized properties, read-only
        return []
    return [MaterializedProperty(*row) for row in rows]


def list_materialized(
    con: duckdb.DuckDBPyConnection, workspace_id: int
) -> list[MaterializedProperty]:
    return [p for p in _registry_rows(con) if p.workspace_id == workspace_id]


def observed_kind(con: duckdb.DuckDBPyConnection, workspace_id: int, key: str) -> PropertyKind:
    """ "number" when every value of `key` seen in a sample of the workspace's events is a JSON
    number, else "text" (also when no event has it yet)."""
    path = json_path(key)
    rows = con.execute(
        f"SELECT json_type(properties, {path}) AS t, count(*) FROM ("
        "  SELECT properties FROM events WHERE workspace_id = ?"
        "  USING SAMPLE reservoir(100000 ROWS) REPEATABLE (7))"
        " WHERE t IS NOT NULL AND t <> 'NULL' GROUP BY t",
        [workspace_id],
    ).fetchall()
    types = {t for t, _ in rows}
    return "number" if types and types <= set(NUMBER_TYPES) else "text"


def time_slices(
    con: duckdb.DuckDBPyConnection, workspace_id: int, rows_per_slice: int
) -> Iterator[tuple[datetime, datetime, bool]]:
    """[lo, hi) slices of the workspace's event timestamps holding about `rows_per_slice` rows
    each (the last one closed: its `hi` is included, the flag says so)."""
    lo, hi, n = con.execute(
        "SELECT min(timestamp), max(timestamp), count(*) FROM events WHERE workspace_id = ?",
        [workspace_id],
    ).fetchall()[0]
    if not n:
        return
    slices = max(1, -(-int(n) // rows_per_slice))
    step = (hi - lo) / slices
    for i in range(slices):
        last = i == slices - 1
        yield lo + step * i, hi if last else lo + step * (i + 1), last


# -- changing the registry ---------------------------------------------------------------------

# Rows one backfill UPDATE covers: about a second of work at the 10M-event benchmark's pace, so
# live ingestion, which waits for the store's lock, is held up by about that much at most.
BACKFILL_ROWS = 1_000_000
SQL_TYPES = {"text": "VARCHAR", "number": "DOUBLE"}


def add_materialized(
    store: EventStore,
    workspace_id: int,
    key: str,
    kind: PropertyKind | None = None,
    *,
    origin: Literal["manual", "auto", "demo"] = "manual",
    progress: Progress | None = None,
    rows_per_slice: int = BACKFILL_ROWS,
) -> MaterializedProperty:
    """Give (key, kind) its column in the workspace: add the column (every write fills it from
    then on), backfill the workspace's stored events slice by slice, then mark it ready for
    queries. `kind=None` picks it from the observed values. Idempotent; an unfinished backfill
    (the process stopped) is run again."""
    check_property_key(key, "key")
    if kind is None:
        cur = store.cursor()
        try:
            kind = observed_kind(cur, workspace_id, key)
        finally:
            cur.close()
    column = column_for(key, kind)
    with store.write_lock():
        with store.transaction() as con:
            mine = [
                p for p in list_materialized(con, workspace_id) if (p.key, p.kind) == (key, kind)
            ]
            if mine and mine[0].ready:
                return mine[0]
            if not mine:
                _check_can_add(con, workspace_id, key, kind, column)
                con.execute(
                    f"ALTER TABLE events ADD COLUMN IF NOT EXISTS {quoted(column)}"
                    f" {SQL_TYPES[kind]}"
                )
                con.execute(
                    "INSERT INTO materialized_properties VALUES (?, ?, ?, ?, ?, false, now())",
                    [workspace_id, key, kind, column, origin],
                )
        _reload(store)
    expr = fill_expr(FillColumn(column, key, kind), "properties")
    cur = store.cursor()
    try:
        slices = list(time_slices(cur, workspace_id, rows_per_slice))
    finally:
        cur.close()
    for i, (lo, hi, last) in enumerate(slices):
        with store.transaction() as con:
            con.execute(
                f"UPDATE events SET {quoted(column)} = {expr} WHERE workspace_id = ?"
                f" AND timestamp >= ? AND timestamp {'<=' if last else '<'} ?",
                [workspace_id, lo, hi],
            )
        if progress is not None:
            progress(i + 1, len(slices))
    with store.write_lock():
        with store.transaction() as con:
            con.execute(
                "UPDATE materialized_properties SET ready = true"
                " WHERE workspace_id = ? AND key = ? AND kind = ?",
                [workspace_id, key, kind],
            )
        _reload(store)
    cur = store.cursor()
    try:
        [done] = [p for p in list_materialized(cur, workspace_id) if (p.key, p.kind) == (key, kind)]
    finally:
        cur.close()
    return done


def _reload(store: EventStore) -> None:
    """Refresh the store's cached registry from what is committed (the caller holds the write
    lock, so no write runs with a stale list of columns to fill)."""
    with store.transaction() as con:
        store.materialized.reload(con)


def _check_can_add(
    con: duckdb.DuckDBPyConnection, workspace_id: int, key: str, kind: PropertyKind, column: str
) -> None:
    rows = _registry_rows(con)
    taken = [p for p in rows if p.column == column and (p.key, p.kind) != (key, kind)]
    if taken:
        raise Conflict(
            f"the column {column} already holds the property {taken[0].key!r}; drop it first",
            "key",
        )
    if sum(p.workspace_id == workspace_id for p in rows) >= MAX_PER_WORKSPACE:
        raise InvalidInput(
            f"a workspace materializes at most {MAX_PER_WORKSPACE} properties; drop one first",
            "key",
        )


def drop_materialized(
    store: EventStore, workspace_id: int, key: str, kind: PropertyKind | None = None
) -> list[MaterializedProperty]:
    """Stop materializing `key` (of one kind, or both) in the workspace; a column no workspace
    uses any more is dropped. Queries read the JSON again."""
    with store.write_lock():
        with store.transaction() as con:
            gone = [
                p
                for p in list_materialized(con, workspace_id)
                if p.key == key and kind in (None, p.kind)
            ]
            if not gone:
                raise NotFound(f"the property {key!r} is not materialized in this workspace", "key")
            for p in gone:
                con.execute(
                    "DELETE FROM materialized_properties"
                    " WHERE workspace_id = ? AND key = ? AND kind = ?",
                    [workspace_id, p.key, p.kind],
                )
            used = {p.column for p in _registry_rows(con)}
            for column in sorted({p.column for p in gone} - used):
                con.execute(f"ALTER TABLE events DROP COLUMN {quoted(column)}")
        _reload(store)
    return gone
