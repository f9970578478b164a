"""The DuckDB event store: appends events, keeps persons and the distinct_id map, reads them back.

One process owns a DuckDB file for writing (the server, or the CLI when no server runs). Within
that process writes are serialised by a lock; readers take their own cursor and see committed data.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa

from opsloop.errors import StoreBusy
from opsloop.events.id_index import StoredIdIndex, fingerprint, fingerprint_sql
from opsloop.events.identity import apply_person_ops
from opsloop.events.materialized import FillColumn, MaterializedColumns, fill_expr, quoted
from opsloop.events.person_map import NewIds, PersonMapCache
from opsloop.events.property_usage import PropertyUsage, flush_usage
from opsloop.events.schema import (
    DDL,
    EVENT_ARROW_SCHEMA,
    EVENT_COLUMNS,
    PERSON_NAMESPACE,
    PROMOTED,
    IncomingEvent,
    person_id_for,
)

# Live ingestion checks a re-sent uuid against stored events this close to the incoming
# timestamps (SDK retries resend the same timestamp); imports check the whole workspace.
LIVE_DEDUPE_WINDOW = timedelta(days=1)

# Share of the machine's memory DuckDB may use for its cache (a size like "4GB" works too).
DEFAULT_MEMORY_LIMIT = "25%"

SELECT_EVENT = (
    "SELECT CAST(uuid AS VARCHAR) AS uuid, event, distinct_id, timestamp, received_at,"
    " properties, source FROM events"
)


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int
    duplicates: int
    # For write_events: one flag per input event, True when it was stored (not a duplicate).
    stored: tuple[bool, ...] = ()


_TIMESTAMP = pa.timestamp("us", tz="UTC")
# person_id_for(workspace_id, distinct_id) in SQL: uuid5 is the SHA-1 of the namespace's bytes
# and "<workspace_id>:<distinct_id>", cut to 16 bytes, with version 5 and the RFC 4122 variant.
_PERSON_HASH_SQL = (
    "sha1('"
    + "".join(f"\\x{b:02X}" for b in PERSON_NAMESPACE.bytes)
    + "'::BLOB || encode(CAST(n.workspace_id AS VARCHAR) || ':' || n.distinct_id))"
)
_PERSON_ID_SQL = (
    "CAST(concat(substr(h, 1, 12), '5', substr(h, 14, 3),"
    " substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr(h, 17, 1)), 1),"
    " substr(h, 18, 15)) AS UUID)"
)
_MAX_CHUNK_BYTES = 1 << 30


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def events_to_arrow(events: Sequence[IncomingEvent], received_at: datetime) -> pa.Table:
    """Lay incoming events out as the events table's columns (column by column: this runs for
    every live event, so it keeps the per-event Python work small)."""
    n = len(events)
    props = [e.properties for e in events]
    workspace_ids = {e.workspace_id for e in events}
    sources = {e.source for e in events}
    columns = [
        pa.array([e.uuid for e in events], pa.string()),
        (
            pa.repeat(pa.scalar(next(iter(workspace_ids)), pa.int32()), n)
            if len(workspace_ids) == 1
            else pa.array([e.workspace_id for e in events], pa.int32())
        ),
        pa.array([e.event for e in events], pa.string()),
        pa.array([e.distinct_id for e in events], pa.string()),
        pa.array([e.timestamp for e in events], _TIMESTAMP),
        pa.repeat(pa.scalar(received_at, _TIMESTAMP), n),
        _json_column(props),
        *(pa.array(_promoted(props, key), pa.string()) for key in PROMOTED.values()),
        (
            pa.repeat(pa.scalar(next(iter(sources)), pa.string()), n)
            if len(sources) == 1
            else pa.array([e.source for e in events], pa.string())
        ),
    ]
    return pa.Table.from_arrays(columns, schema=EVENT_ARROW_SCHEMA)


def _json_column(values: list[dict[str, Any]]) -> pa.Array | pa.ChunkedArray:
    """orjson text of each value, written into one buffer that becomes the Arrow string column
    (keeping one bytes object per value alive costs more than the serialising itself)."""
    chunks: list[pa.Array] = []
    buf = bytearray()
    offsets = [0]
    dumps = orjson.dumps
    option = orjson.OPT_NON_STR_KEYS
    for value in values:
        buf += dumps(value, option=option)
        offsets.append(len(buf))
        if len(buf) > _MAX_CHUNK_BYTES:  # string offsets are 32-bit
            chunks.append(_string_array(buf, offsets))
            buf = bytearray()
            offsets = [0]
    if not chunks:
        return _string_array(buf, offsets)
    if len(offsets) > 1:
        chunks.append(_string_array(buf, offsets))
    return pa.chunked_array(chunks, pa.string())


def _string_array(buf: bytearray, offsets: list[int]) -> pa.Array:
    offsets_buffer = pa.array(offsets, pa.int32()).buffers()[1]
    return pa.StringArray.from_buffers(len(offsets) - 1, offsets_buffer, pa.py_buffer(buf))


_INSERT_COLUMNS = (
    "uuid, workspace_id, event, distinct_id, timestamp, received_at, properties, session_id,"
    " lib, os, url, source"
)
_INSERT_VALUES = (
    "uuid::UUID, workspace_id, event, distinct_id, timestamp, received_at, properties::JSON,"
    " session_id, lib, os, url, source"
)
# One event as the source of _insert_sql (the row-by-row baseline writer), its values bound.
_ONE_ROW = (
    "(SELECT ?::VARCHAR AS uuid, ?::INTEGER AS workspace_id, ?::VARCHAR AS event,"
    " ?::VARCHAR AS distinct_id, ?::TIMESTAMPTZ AS timestamp, ?::TIMESTAMPTZ AS received_at,"
    " ?::VARCHAR AS properties, ?::VARCHAR AS session_id, ?::VARCHAR AS lib, ?::VARCHAR AS os,"
    " ?::VARCHAR AS url, ?::VARCHAR AS source)"
)


def _insert_sql(source: str, fill: Sequence[FillColumn] = ()) -> str:
    """Append the rows of `source` (laid out as EVENT_ARROW_SCHEMA), filling the materialized
    property columns `fill` from their JSON in the same statement."""
    if not fill:
        return f"INSERT INTO events ({_INSERT_COLUMNS}) SELECT {_INSERT_VALUES} FROM {source}"
    columns = "".join(f", {quoted(c.column)}" for c in fill)
    values = "".join(f", {fill_expr(c, 'properties')}" for c in fill)
    return (
        f"INSERT INTO events ({_INSERT_COLUMNS}{columns})"
        f" SELECT {_INSERT_VALUES}{values} FROM {source}"
    )


def _bulk_persons_sql(source: str) -> str:
    """Every new distinct id of `source` (rows with workspace_id, distinct_id, timestamp) gets
    its person, created at its earliest event there; all in SQL, since a bulk table may bring
    hundreds of thousands. person_id_for (uuid5) is computed by DuckDB's sha1."""
    return (
        "CREATE OR REPLACE TEMP TABLE _bulk_ids AS"
        f" SELECT n.workspace_id, n.distinct_id, n.first_seen, {_PERSON_HASH_SQL} AS h"
        " FROM (SELECT workspace_id, distinct_id, min(timestamp) AS first_seen"
        f"  FROM {source} GROUP BY ALL) n"
        " ANTI JOIN person_distinct_ids m"
        "  ON m.workspace_id = n.workspace_id AND m.distinct_id = n.distinct_id;"
        " CREATE OR REPLACE TEMP TABLE _bulk_persons AS"
        f" SELECT workspace_id, distinct_id, first_seen, {_PERSON_ID_SQL} AS person_id"
        " FROM _bulk_ids;"
        " INSERT INTO person_distinct_ids"
        "  SELECT workspace_id, distinct_id, person_id FROM _bulk_persons;"
        " INSERT INTO persons SELECT workspace_id, person_id, '{}', false, first_seen"
        "  FROM _bulk_persons;"
        " DROP TABLE _bulk_ids; DROP TABLE _bulk_persons"
    )


def _unmapped(ids: str) -> str:
    """The rows of the query `ids` (workspace_id, distinct_id, ...) whose distinct_id has no
    person yet, with the hash their person id is made of (h)."""
    return (
        f"SELECT n.*, {_PERSON_HASH_SQL} AS h FROM ({ids}) n ANTI JOIN person_distinct_ids m"
        " ON m.workspace_id = n.workspace_id AND m.distinct_id = n.distinct_id"
    )


def _person_op_ids(events: Sequence[IncomingEvent]) -> Iterator[tuple[int, str]]:
    """The distinct ids that apply_person_ops gives a person when it applies these events."""
    for e in events:
        for op in e.person_ops:
            for did in (e.distinct_id, op.other_id, op.distinct_id):
                if did is not None:
                    yield e.workspace_id, did


def _promoted(props: list[dict[str, Any]], key: str) -> list[str | None]:
    return [v if type(v) is str or v is None else str(v) for v in (p.get(key) for p in props)]


class EventStore:
    """Events, persons and the distinct_id → person map of every workspace, in one DuckDB file."""

    def __init__(
        self, path: Path, *, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT
    ) -> None:
        self.path = path
        self.read_only = read_only
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(
                    f"the event store {path} is in use by another OpsLoop process "
                    "(a running server owns it; go through it or stop it)"
                ) from exc
            raise
        self._con.execute("SET TimeZone = 'UTC'")
        # DuckDB's own default lets its cache take 80% of RAM; the server shares the machine.
        self._con.execute("SET memory_limit = ?", [memory_limit])
        self._lock = threading.RLock()
        # Bumped on every committed write; caches key on it.
        self.data_version = 0
        # Bumped on every committed write that adds events (the id index follows it).
        self.events_version = 0
        self._person_map = PersonMapCache()
        self._ids = StoredIdIndex()
        if not read_only:
            for statement in DDL:
                self._con.execute(statement)
        # Which mp_ columns writes fill and queries may read (events/materialized.py).
        self.materialized = MaterializedColumns(self._con)
        self.property_usage = PropertyUsage()

    # -- reading -------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one reader (thread-safe use of the shared database)."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def close(self) -> None:
        with self._lock:
            try:
                flush_usage(self)
            finally:
                self._con.close()

    def write_lock(self) -> AbstractContextManager[bool]:
        """Held by every write; a caller holding it runs its transactions with no write between."""
        return self._lock

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A write transaction on the store's connection, under the write lock."""
        return self._transaction()

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            con = self._con
            con.begin()
            try:
                yield con
                con.commit()
            except BaseException:
                con.rollback()
                raise
            self.data_version += 1

    def write_events(
        self, events: Sequence[IncomingEvent], table: pa.Table | None = None
    ) -> WriteResult:
        """Store live events once each, create persons for new distinct ids and apply person
        changes, all in one transaction: when this returns, all of it is committed. `table`,
        when given, is events_to_arrow(events) made beforehand."""
        if not events:
            return WriteResult(0, 0)
        first_at: dict[tuple[int, str], int] = {}
        for i, e in enumerate(events):
            first_at.setdefault((e.workspace_id, e.uuid), i)
        if len(first_at) == len(events):
            unique = list(events)
        else:
            unique = [events[i] for i in first_at.values()]
            if table is not None:
                table = table.take(pa.array(list(first_at.values()), pa.int64()))
        if table is None:
            table = events_to_arrow(unique, datetime.now(UTC))
        fingerprints = [fingerprint(e.uuid) for e in unique]
        new: NewIds | None = {}
        # Under the write lock nothing else writes: what is stored can be read before the
        # transaction begins.
        with self._lock:
            con = self._con
            version, events_version = self.data_version, self.events_version
            stored = self._already_stored(con, unique, table, fingerprints, events_version)
            if stored:
                keep = [(e.workspace_id, e.uuid) not in stored for e in unique]
                unique = [e for e, k in zip(unique, keep, strict=True) if k]
                fingerprints = [fp for fp, k in zip(fingerprints, keep, strict=True) if k]
                table = table.filter(pa.array(keep, pa.bool_()))
            if unique:
                new = self._person_map.new_ids(con, version, unique)
                ops = [e for e in unique if e.person_ops]
                if new is not None and not ops:
                    # The usual group: the transaction in one call (each costs a hand-off).
                    self._insert_live(con, table, new, transaction=True)
                    self.data_version += 1
                else:
                    with self._transaction() as tx:
                        self._insert_live(tx, table, new)
                        if new is None:
                            self._map_new_distinct_ids(tx, table)
                        apply_person_ops(tx, ops)
                self.events_version += 1
                self._ids.committed(events_version, fingerprints)
        if new is not None:
            self._person_map.committed(version, [*new, *_person_op_ids(unique)])
        stored_at = {i for key, i in first_at.items() if key not in stored}
        flags = tuple(i in stored_at for i in range(len(events)))
        return WriteResult(len(unique), len(events) - len(unique), flags)

    def _already_stored(
        self,
        con: duckdb.DuckDBPyConnection,
        events: Sequence[IncomingEvent],
        table: pa.Table,
        fingerprints: Sequence[int],
        events_version: int,
    ) -> set[tuple[int, str]]:
        """The (workspace_id, uuid) keys of `events` (laid out as `table`) already stored near
        their timestamps. The id index clears the ids certainly new; SQL checks the others."""
        maybe = self._ids.maybe_stored(con, events_version, fingerprints)
        if maybe is not None:
            if not any(maybe):
                return set()
            events = [e for e, m in zip(events, maybe, strict=True) if m]
            table = table.filter(pa.array(maybe, pa.bool_()))
        lo = min(e.timestamp for e in events) - LIVE_DEDUPE_WINDOW
        hi = max(e.timestamp for e in events) + LIVE_DEDUPE_WINDOW
        return self._stored_uuids(con, table, lo, hi)

    @staticmethod
    def _stored_uuids(
        con: duckdb.DuckDBPyConnection, _events_in: pa.Table, lo: datetime, hi: datetime
    ) -> set[tuple[int, str]]:
        """The (workspace_id, uuid) keys of `_events_in` already stored with a timestamp in
        [lo, hi], spelled as `_events_in` spells them."""
        # Live groups are read by name from this frame (a replacement scan), which costs less
        # than registering and unregistering a view around every statement.
        rows = con.execute(
            "SELECT k.workspace_id, k.uuid FROM _events_in k SEMI JOIN ("
            "  SELECT workspace_id, uuid FROM events WHERE timestamp BETWEEN ? AND ?) e"
            " ON e.workspace_id = k.workspace_id AND e.uuid = k.uuid::UUID",
            [lo, hi],
        ).fetchall()
        return {(int(ws), str(u)) for ws, u in rows}

    def write_events_row_by_row(self, events: Sequence[IncomingEvent]) -> WriteResult:
        """The straightforward way, kept as the benchmark's baseline (OPSLOOP_WRITER_MODE=row):
        every event checked, inserted with a single-row INSERT and committed on its own."""
        flags: list[bool] = []
        for e in events:
            with self._transaction() as con:
                seen = con.execute(
                    "SELECT 1 FROM events WHERE workspace_id = ? AND uuid = ?::UUID"
                    " AND timestamp BETWEEN ? AND ? LIMIT 1",
                    [
                        e.workspace_id,
                        e.uuid,
                        e.timestamp - LIVE_DEDUPE_WINDOW,
                        e.timestamp + LIVE_DEDUPE_WINDOW,
                    ],
                ).fetchone()
                if seen is not None:
                    flags.append(False)
                    continue
                props = e.properties
                promoted = [props.get(k) for k in PROMOTED.values()]
                con.execute(
                    _insert_sql(_ONE_ROW, self.materialized.fill),
                    [
                        e.uuid,
                        e.workspace_id,
                        e.event,
                        e.distinct_id,
                        e.timestamp,
                        datetime.now(UTC),
                        _json(props),
                        *(None if v is None else str(v) for v in promoted),
                        e.source,
                    ],
                )
                known = con.execute(
                    "SELECT 1 FROM person_distinct_ids WHERE workspace_id = ? AND distinct_id = ?",
                    [e.workspace_id, e.distinct_id],
                ).fetchone()
                if known is None:
                    pid = person_id_for(e.workspace_id, e.distinct_id)
                    con.execute(
                        "INSERT INTO person_distinct_ids VALUES (?, ?, ?::UUID)",
                        [e.workspace_id, e.distinct_id, pid],
                    )
                    con.execute(
                        "INSERT INTO persons VALUES (?, ?::UUID, '{}', false, ?)",
                        [e.workspace_id, pid, e.timestamp],
                    )
                if e.person_ops:
                    apply_person_ops(con, [e])
                self._ids.committed(self.events_version, [fingerprint(e.uuid)])
                self.events_version += 1
            flags.append(True)
        accepted = sum(flags)
        return WriteResult(accepted, len(events) - accepted, tuple(flags))

    def _follow_ids(self, con: duckdb.DuckDBPyConnection, source: str) -> None:
        """Events from `source` were just inserted: keep the id index exact (when it is live)."""
        if self._ids.live:
            added = con.sql(f"SELECT {fingerprint_sql('uuid::UUID')} AS fp FROM {source}")
            self._ids.committed(self.events_version, added.to_arrow_table()[0].to_numpy())
        self.events_version += 1

    def _insert_events(self, con: duckdb.DuckDBPyConnection, table: pa.Table | str) -> None:
        """Append `table` (Arrow, read from this frame) or the registered view it names."""
        _events_in = table
        source = table if isinstance(table, str) else "_events_in"
        con.execute(_insert_sql(source, self.materialized.fill))

    def _insert_live(
        self,
        con: duckdb.DuckDBPyConnection,
        _events_in: pa.Table,
        new: NewIds | None,
        *,
        transaction: bool = False,
    ) -> None:
        """Append a live group and give `new` distinct ids (known to have none) their persons,
        in one call: every statement DuckDB runs costs planning, every call a round trip. With
        `transaction`, the call also begins and commits its own transaction."""
        sql = _insert_sql("_events_in", self.materialized.fill)
        if new:
            _new_ids = pa.table(
                {
                    "workspace_id": pa.array([ws for ws, _ in new], pa.int32()),
                    "distinct_id": pa.array([did for _, did in new], pa.string()),
                    "first_seen": pa.array(list(new.values()), _TIMESTAMP),
                }
            )
            hashed = f"SELECT n.*, {_PERSON_HASH_SQL} AS h FROM _new_ids n"
            sql += (
                f"; INSERT INTO persons SELECT workspace_id, {_PERSON_ID_SQL}, '{{}}', false,"
                f" first_seen FROM ({hashed});"
                " INSERT INTO person_distinct_ids"
                f" SELECT workspace_id, distinct_id, {_PERSON_ID_SQL} FROM ({hashed})"
            )
        if not transaction:
            con.execute(sql)
            return
        try:
            con.execute(f"BEGIN TRANSACTION; {sql}; COMMIT")
        except BaseException:
            # (The transaction may not have begun, or may have ended already.)
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            raise

    @staticmethod
    def _map_new_distinct_ids(con: duckdb.DuckDBPyConnection, _events_in: pa.Table) -> None:
        """Give every distinct_id of `_events_in` seen for the first time its own person,
        created at its earliest event here. All in SQL: nothing comes back to Python."""
        firsts = _unmapped(
            "SELECT workspace_id, distinct_id, min(timestamp) AS first_seen"
            " FROM _events_in GROUP BY ALL"
        )
        ids = _unmapped("SELECT DISTINCT workspace_id, distinct_id FROM _events_in")
        # persons first: both statements see the map as it was before this group.
        con.execute(
            f"INSERT INTO persons SELECT workspace_id, {_PERSON_ID_SQL}, '{{}}', false,"
            f" first_seen FROM ({firsts});"
            f" INSERT INTO person_distinct_ids SELECT workspace_id, distinct_id, {_PERSON_ID_SQL}"
            f" FROM ({ids})"
        )

    def append_table(
        self, table: pa.Table, *, dedupe: Literal["full", "stored", "none"] = "full"
    ) -> WriteResult:
        """Bulk-append events laid out as EVENT_ARROW_SCHEMA (imports, the demo world).

        With dedupe="full" a row whose uuid is already stored in its workspace, or repeats an
        earlier row of the same table, is skipped and counted as a duplicate. "stored" checks
        the stored events only, for a caller whose table repeats no uuid (imports).
        """
        if table.num_rows == 0:
            return WriteResult(0, 0)
        table = table.select(EVENT_COLUMNS).cast(EVENT_ARROW_SCHEMA)
        with self._transaction() as con:
            con.register("_bulk", table)
            try:
                source = "_bulk"
                repeats = 0
                if dedupe != "none":
                    # Most bulk tables repeat nothing: check that cheaply before paying for a
                    # window and a copy of every row.
                    repeats = con.execute(
                        "SELECT (SELECT count(*) FROM events e SEMI JOIN _bulk b"
                        "  ON e.workspace_id = b.workspace_id AND e.uuid = b.uuid::UUID)"
                        + (
                            " + (SELECT count(*) FROM (SELECT 1 FROM _bulk"
                            "  GROUP BY workspace_id, uuid HAVING count(*) > 1))"
                            if dedupe == "full"
                            else ""
                        )
                    ).fetchall()[0][0]
                if repeats:
                    con.execute(
                        "CREATE OR REPLACE TEMP TABLE _bulk_fresh AS"
                        " SELECT * EXCLUDE (rn) FROM ("
                        "  SELECT *, row_number() OVER (PARTITION BY workspace_id, uuid) AS rn"
                        "  FROM _bulk) b"
                        " WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM events e"
                        "  WHERE e.workspace_id = b.workspace_id AND e.uuid = b.uuid::UUID)"
                    )
                    source = "_bulk_fresh"
                self._insert_events(con, source)
                self._follow_ids(con, source)
                accepted = table.num_rows
                if source == "_bulk_fresh":
                    accepted = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
                con.execute(_bulk_persons_sql(source))
                if source == "_bulk_fresh":
                    con.execute("DROP TABLE _bulk_fresh")
            except BaseException:
                # A failed statement aborts the transaction: unregistering now would raise and
                # hide the error; the rollback drops the view with everything else.
                raise
            else:
                con.unregister("_bulk")
        return WriteResult(int(accepted), table.num_rows - int(accepted))

    def append_query(
        self,
        con: duckdb.DuckDBPyConnection,
        select: str,
        workspace_id: int,
    ) -> WriteResult:
        """Bulk-append the rows of `select` (EVENT_ARROW_SCHEMA's columns; uuid a UUID or text)
        into one workspace, skipping ids it already stores; run on `con`, a cursor of this store,
        so that `select` may read the cursor's temporary tables. One statement streams the rows
        in, with no copy through Python (imports with no server running)."""
        fresh = (
            f"(SELECT s.* FROM ({select}) s ANTI JOIN"
            f" (SELECT uuid FROM events WHERE workspace_id = {int(workspace_id)}) e"
            " ON e.uuid = s.uuid::UUID)"
        )
        with self._lock:
            con.begin()
            try:
                total = con.execute(f"SELECT count(*) FROM ({select}) s").fetchall()[0][0]
                accepted = con.execute(_insert_sql(fresh, self.materialized.fill)).fetchall()[0][0]
                con.execute(_bulk_persons_sql(f"({select})"))
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                self.data_version += 1
                self.events_version += 1  # the id index reloads when it is next asked
        return WriteResult(int(accepted), int(total) - int(accepted))

    def set_person_properties(self, workspace_id: int, rows: pa.Table) -> None:
        """Bulk `$set` of person properties: `rows` has columns distinct_id and properties
        (a JSON object as text). Persons must exist (their distinct ids seen)."""
        with self._transaction() as con:
            con.register("_props", rows)
            try:
                con.execute(
                    "UPDATE persons p SET properties = json_merge_patch(p.properties,"
                    " r.properties::JSON)"
                    " FROM _props r JOIN person_distinct_ids m ON m.distinct_id = r.distinct_id"
                    " AND m.workspace_id = ?"
                    " WHERE p.workspace_id = ? AND p.id = m.person_id",
                    [workspace_id, workspace_id],
                )
            finally:
                con.unregister("_props")

    # -- reading back --------------------------------------------------------------------------

    def list_events(
        self,
        workspace_id: int,
        *,
        distinct_id: str | None = None,
        person_id: str | None = None,
        event: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        limit: int = 100,
        cursor: tuple[datetime, str] | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
        """Events newest first; returns a page and the keyset cursor of the next one."""
        where = ["workspace_id = ?"]
        args: list[Any] = [workspace_id]
        if distinct_id is not None:
            where.append("distinct_id = ?")
            args.append(distinct_id)
        if person_id is not None:
            where.append(
                "distinct_id IN (SELECT distinct_id FROM person_distinct_ids"
                " WHERE workspace_id = ? AND person_id = TRY_CAST(? AS UUID))"
            )
            args += [workspace_id, person_id]
        if event is not None:
            where.append("event = ?")
            args.append(event)
        if after is not None:
            where.append("timestamp >= ?")
            args.append(after)
        if before is not None:
            where.append("timestamp < ?")
            args.append(before)
        if cursor is not None:
            where.append("(timestamp, CAST(uuid AS VARCHAR)) < (?, ?)")
            args += [cursor[0], cursor[1]]
        sql = (
            f"{SELECT_EVENT} WHERE {' AND '.join(where)}"
            " ORDER BY timestamp DESC, CAST(uuid AS VARCHAR) DESC LIMIT ?"
        )
        args.append(limit + 1)
        cur = self.cursor()
        try:
            rows = cur.execute(sql, args).fetchall()
        finally:
            cur.close()
        page = [
            {
                "uuid": r[0],
                "event": r[1],
                "distinct_id": r[2],
                "timestamp": r[3],
                "received_at": r[4],
                "properties": orjson.loads(r[5]) if r[5] else {},
                "source": r[6],
            }
            for r in rows[:limit]
        ]
        nxt = (page[-1]["timestamp"], page[-1]["uuid"]) if len(rows) > limit else None
        return page, nxt

    def get_person(self, workspace_id: int, distinct_id: str) -> dict[str, Any] | None:
        cur = self.cursor()
        try:
            row = cur.execute(
                "SELECT CAST(p.id AS VARCHAR), p.properties, p.is_identified, p.created_at"
                " FROM person_distinct_ids m JOIN persons p"
                "  ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
                " WHERE m.workspace_id = ? AND m.distinct_id = ?",
                [workspace_id, distinct_id],
            ).fetchone()
            if row is None:
                return None
            ids = cur.execute(
                "SELECT distinct_id FROM person_distinct_ids"
                " WHERE workspace_id = ? AND person_id = ?::UUID ORDER BY distinct_id",
                [workspace_id, row[0]],
            ).fetchall()
        finally:
            cur.close()
        return {
            "id": row[0],
            "properties": orjson.loads(row[1]) if row[1] else {},
            "is_identified": bool(row[2]),
            "created_at": row[3],
            "distinct_ids": [d for (d,) in ids],
        }

    def count_events(self, workspace_id: int | None = None) -> int:
        cur = self.cursor()
        try:
            if workspace_id is None:
                row = cur.execute("SELECT count(*) FROM events").fetchone()
            else:
                row = cur.execute(
                    "SELECT count(*) FROM events WHERE workspace_id = ?", [workspace_id]
                ).fetchone()
        finally:
            cur.close()
        return int(row[0]) if row else 0


def open_event_store(
    path: Path, *, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> EventStore:
    path.parent.mkdir(parents=True, exist_ok=True)
    return EventStore(path, read_only=read_only, memory_limit=memory_limit)
