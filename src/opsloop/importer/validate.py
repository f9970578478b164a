"""The checks every row passes, its event id, and the split into accepted and quarantined rows —
all as SQL over the whole file in the private DuckDB (no Python per row).

A row's id: a given UUID as is; any other given id mapped to a stable UUID exactly like live
ingestion does (ingest.common.event_uuid with the "native" hint); no id at all derived from the
row's content and its occurrence among identical rows of the file. Two identical purchases are
occurrences 1 and 2, so both are kept, and importing the same file again (or an overlapping
export) derives the same ids, so nothing is doubled.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from opsloop.importer.columns import key_layout, tabular_layout
from opsloop.importer.reader import StagedFile, first_row, sql_literal
from opsloop.importer.shapes import Shape, csv_kinds, csv_shape, jsonl_shape, parquet_shape
from opsloop.ingest.common import ID_NAMESPACE, MAX_DISTINCT_ID, MAX_EVENT_NAME

# What the ids derived from a row's content (and its occurrence) hash besides it.
ROW_PREFIX = "opsloop-import-row" + chr(31)
# The version nibble and variant bits of a UUID read as a 128-bit number, and those of version 3.
UUID_KEEP_BITS = (1 << 128) - 1 - (0xF << 76) - (0x3 << 62)
UUID_V3_BITS = (0x3 << 76) | (0x2 << 62)
# event_uuid's namespace hint for OpsLoop's own format: an id imported or posted maps alike.
ID_HINT = "native"
CHECKED = "_checked"
# Arrow's bytes for a row besides its variable-length text (uuid, timestamps, offsets).
ROW_OVERHEAD_BYTES = 120


def _blob(namespace: uuidlib.UUID) -> str:
    return "'" + "".join(f"\\x{b:02X}" for b in namespace.bytes) + "'::BLOB"


MACROS = [
    # Epoch seconds, or milliseconds from 1e11 on (as ingest.common.parse_timestamp).
    # (An instant: read as UTC whatever zone naive text is read in.)
    "CREATE OR REPLACE TEMP MACRO ol_epoch(x) AS TRY(timezone('UTC', make_timestamp(CAST(round("
    "CASE WHEN abs(x) >= 1e11 THEN x * 1000 ELSE x * 1000000 END) AS BIGINT))))",
    "CREATE OR REPLACE TEMP MACRO ol_parse_ts(t) AS CASE"
    " WHEN regexp_full_match(t, '\\s*-?[0-9]+(\\.[0-9]+)?\\s*')"
    " THEN ol_epoch(TRY_CAST(t AS DOUBLE)) ELSE TRY_CAST(t AS TIMESTAMPTZ) END",
    # 32 hex digits as an RFC 4122 UUID of version v.
    "CREATE OR REPLACE TEMP MACRO ol_uuid_hex(h, v) AS concat(substr(h, 1, 8), '-',"
    " substr(h, 9, 4), '-', v, substr(h, 14, 3), '-',"
    " substr('89ab89ab89ab89ab', strpos('0123456789abcdef', substr(h, 17, 1)), 1),"
    " substr(h, 18, 3), '-', substr(h, 21, 12))",
    # DuckDB's JSON type names as JSON's own.
    "CREATE OR REPLACE TEMP MACRO ol_json_kind(t) AS CASE t WHEN 'VARCHAR' THEN 'string'"
    " WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' WHEN 'DOUBLE' THEN 'number'"
    " WHEN 'BOOLEAN' THEN 'boolean' ELSE lower(t) END",
    "CREATE OR REPLACE TEMP MACRO ol_content(e, d, t, p) AS"
    " e || chr(31) || d || chr(31) || CAST(epoch_us(t) AS VARCHAR) || chr(31) || p",
    # A UUID given as is; another id as uuid5(ID_NAMESPACE, "native:<id>"), the same as
    # ingest.common.event_uuid; no id: the md5 of ROW_PREFIX and the content as a 128-bit
    # number, with the version (3) and variant bits of a name-based UUID set. (md5_number and a
    # cast to UUID cost DuckDB a third of hashing to hex and formatting that.)
    # (A UUID value, not text: grouping, joining and storing it cost less.)
    f"CREATE OR REPLACE TEMP MACRO ol_event_uuid(id, content) AS"
    f" coalesce(TRY_CAST(id AS UUID), CASE WHEN id IS NULL"
    f" THEN CAST((md5_number({sql_literal(ROW_PREFIX)} || content)"
    f" & {UUID_KEEP_BITS}::UHUGEINT) | {UUID_V3_BITS}::UHUGEINT AS UUID)"
    f" ELSE CAST(ol_uuid_hex(sha1({_blob(ID_NAMESPACE)}"
    f" || encode({sql_literal(ID_HINT + ':')} || id)), '5') AS UUID) END)",
]


@dataclass(frozen=True, slots=True)
class CheckedRows:
    """How the rows of the file (those DuckDB could parse) came out of the checks."""

    rows: int
    quarantined: int
    in_file_duplicates: int
    to_store: int
    row_bytes: int


def install_macros(con: duckdb.DuckDBPyConnection, timezone: str = "UTC") -> None:
    """The import's SQL helpers; timestamps without an offset are read in `timezone`."""
    con.execute(f"SET TimeZone = {sql_literal(timezone)}")
    for macro in MACROS:
        con.execute(macro)


def shape_for(con: duckdb.DuckDBPyConnection, staged: StagedFile, renames: dict[str, str]) -> Shape:
    if staged.format == "jsonl":
        return jsonl_shape(key_layout(renames), staged.source)
    layout = tabular_layout(staged.columns, staged.types, renames)
    if staged.format == "csv":
        return csv_shape(layout, csv_kinds(con, layout, staged.source), staged.source)
    return parquet_shape(
        layout, dict(zip(staged.columns, staged.types, strict=True)), staged.source
    )


def _future_text(limit: timedelta) -> str:
    seconds = int(limit.total_seconds())
    if seconds == 86400:
        return "a day"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return f"{seconds} seconds"


def _judgement(shape: Shape, max_future: timedelta) -> str:
    """The reasons a row is refused, naming the field (NULL when it is fine)."""
    ev, did, ts = (shape.labels[f] for f in ("event", "distinct_id", "timestamp"))

    def text_check(column: str, label: str, limit: int) -> str:
        return (
            f"coalesce(__type_{column}, CASE WHEN __{column} IS NULL OR trim(__{column}) = ''"
            f" THEN {sql_literal(label + ' is missing or empty')}"
            f" WHEN strlen(__{column}) > {limit} AND length(__{column}) > {limit}"
            f" THEN {sql_literal(f'{label} is longer than {limit} characters')} END)"
        )

    iso = "strftime(timezone('UTC', __ts), '%Y-%m-%dT%H:%M:%SZ')"
    ts_check = (
        f"coalesce(__type_timestamp, CASE WHEN __ts IS NULL AND {shape.ts_missing}"
        f" THEN {sql_literal(ts + ' is missing or empty')}"
        f" WHEN __ts IS NULL THEN {sql_literal(ts + ' ')} || to_json({shape.ts_text})"
        f" || ' is not ISO 8601 or epoch seconds/ms'"
        f" WHEN __ts > $future THEN {sql_literal(ts + ' ')} || {iso}"
        f" || {sql_literal(' is more than ' + _future_text(max_future) + ' in the future')}"
        f" WHEN __ts < TIMESTAMPTZ '1971-01-01 00:00:00+00' THEN {sql_literal(ts + ' ')}"
        f" || {iso} || ' is before 1971' END)"
    )
    return f"""
        SELECT *,
            coalesce(__pre_reason, NULLIF(concat_ws('; ', __r_event, __r_distinct_id, __r_ts), ''))
                AS __reason,
            coalesce(__pre_field, CASE WHEN __r_event IS NOT NULL THEN 'event'
                WHEN __r_distinct_id IS NOT NULL THEN 'distinct_id'
                WHEN __r_ts IS NOT NULL THEN 'timestamp' END) AS __field
        FROM (
            SELECT *,
                {text_check("event", ev, MAX_EVENT_NAME)} AS __r_event,
                {text_check("distinct_id", did, MAX_DISTINCT_ID)} AS __r_distinct_id,
                {ts_check} AS __r_ts,
                NULLIF(trim(__uuid), '') AS __id
            FROM ({shape.select}) shaped
        ) judged"""


def checked_select(shape: Shape, max_future: timedelta) -> str:
    """Every row with its fields, its id (accepted rows), its reason and original (refused)."""
    return f"""
        SELECT __row AS _row, __line AS _line, __event AS event, __distinct_id AS distinct_id,
            __ts AS timestamp, __props AS properties, __session_id AS session_id, __lib AS lib,
            __os AS os, __url AS url, __id IS NOT NULL AS has_id,
            ol_event_uuid(__id, ol_content(__event, __distinct_id, __ts, __props)) AS uuid,
            __reason AS reason, __field AS field,
            CASE WHEN __reason IS NOT NULL THEN {shape.orig} END AS orig,
            false AS dup
        FROM ({_judgement(shape, max_future)}) decided"""


def check_rows(
    con: duckdb.DuckDBPyConnection,
    staged: StagedFile,
    renames: dict[str, str],
    *,
    now: datetime,
    max_future: timedelta,
    timezone: str = "UTC",
) -> CheckedRows:
    """Build `_checked`: every parsed row with its fields, id, reason (if refused) and whether it
    repeats an earlier row of the file."""
    install_macros(con, timezone)
    shape = shape_for(con, staged, renames)
    sql = f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS {checked_select(shape, max_future)}"
    con.execute(sql, {"future": now + max_future})
    in_file_duplicates = _mark_repeats(con)
    rows, quarantined, dups, avg_bytes = first_row(
        con,
        f"SELECT count(*), count(reason), count(*) FILTER (dup),"
        f" coalesce(avg(strlen(properties) + strlen(event) + strlen(distinct_id))"
        f" FILTER (reason IS NULL AND NOT dup), 0) FROM {CHECKED}",
    )
    return CheckedRows(
        int(rows),
        int(quarantined),
        in_file_duplicates,
        int(rows) - int(quarantined) - int(dups),
        int(avg_bytes) + ROW_OVERHEAD_BYTES,
    )


def _mark_repeats(con: duckdb.DuckDBPyConnection) -> int:
    """Rows sharing an id: a given id seen before in the file is a duplicate; a derived id is
    re-derived with the row's occurrence, so identical rows stay distinct events."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _repeats AS SELECT uuid FROM {CHECKED}"
        " WHERE reason IS NULL GROUP BY uuid HAVING count(*) > 1"
    )
    (repeats,) = first_row(con, "SELECT count(*) FROM _repeats")
    if repeats == 0:
        return 0
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _occurrences AS SELECT c._row, c.has_id,"
        " row_number() OVER (PARTITION BY c.uuid ORDER BY c._row) AS k"
        f" FROM {CHECKED} c SEMI JOIN _repeats r ON r.uuid = c.uuid WHERE c.reason IS NULL"
    )
    con.execute(
        f"UPDATE {CHECKED} SET dup = true FROM _occurrences o"
        f" WHERE {CHECKED}._row = o._row AND o.has_id AND o.k > 1"
    )
    con.execute(
        f"UPDATE {CHECKED} SET uuid = ol_event_uuid(NULL, ol_content(event, distinct_id,"
        f" timestamp, properties) || chr(31) || CAST(o.k AS VARCHAR)) FROM _occurrences o"
        f" WHERE {CHECKED}._row = o._row AND NOT o.has_id AND o.k > 1"
    )
    (found,) = first_row(con, f"SELECT count(*) FROM {CHECKED} WHERE dup")
    con.execute("DROP TABLE _occurrences")
    return int(found)


def accepted_select(workspace_id: int, received_at: datetime) -> str:
    """The rows to store, laid out as EVENT_ARROW_SCHEMA (the uuid a UUID value)."""
    received = sql_literal(received_at.isoformat())
    return (
        f"SELECT uuid, CAST({int(workspace_id)} AS INTEGER) AS workspace_id, event, distinct_id,"
        f" timestamp, CAST({received} AS TIMESTAMPTZ) AS received_at, properties, session_id,"
        f" lib, os, url, 'import' AS source FROM {CHECKED} WHERE reason IS NULL AND NOT dup"
    )


def accepted_batches(
    con: duckdb.DuckDBPyConnection, workspace_id: int, received_at: datetime, rows_per_batch: int
) -> pa.RecordBatchReader:
    """The rows to store, laid out as EVENT_ARROW_SCHEMA, a batch at a time."""
    select = accepted_select(workspace_id, received_at)
    relation = con.sql(f"SELECT * REPLACE (CAST(uuid AS VARCHAR) AS uuid) FROM ({select})")
    return relation.to_arrow_reader(rows_per_batch)
