"""Per format, the SQL that turns the staged rows into the event's fields.

Each shape is a SELECT over the staged rows giving, for every row: its order (`__row`), its
line when the format knows it (`__line`), the core fields as text (`__event`, `__distinct_id`,
`__ts_text`, `__uuid`), the parsed timestamp (`__ts`), the properties as a JSON object (`__props`),
the promoted columns (`__session_id`, `__lib`, `__os`, `__url`), a reason the format itself found
(`__pre_reason`, `__pre_field`: a line that is not JSON), a core field of the wrong JSON type
(`__type_event`, `__type_distinct_id`, `__type_timestamp`), and an expression for the original
row. The checks common to every format live in validate.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from opsloop.errors import InvalidInput
from opsloop.importer.columns import PROPERTIES_KEY, REQUIRED_FIELDS, KeyLayout, TabularLayout
from opsloop.importer.reader import first_row, quote_ident, sql_literal

# CSV cells are text: a column is typed when every non-empty cell of it reads as that type.
# Numbers must be JSON numbers and at most 15 integer digits (exact in a double), so ids such as
# "007" or 20-digit order numbers stay text.
INT_PATTERN = r"-?(0|[1-9][0-9]{0,14})"
NUMBER_PATTERN = r"-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?"

# Rows of a CSV file judged first, to settle early which columns are text.
KIND_SAMPLE_ROWS = 10_000

FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})
NUMERIC_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
    }
)
TIMESTAMP_TYPES = frozenset(
    {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE", "TIMESTAMP WITH TIME ZONE"}
)
PROMOTED_KEYS = {"session_id": "$session_id", "lib": "$lib", "os": "$os", "url": "$current_url"}


@dataclass(frozen=True, slots=True)
class Shape:
    select: str
    # Expressions over the columns of `select`: the original row as JSON and the timestamp as
    # text (evaluated for refused rows only), and whether the timestamp is missing.
    orig: str
    ts_text: str
    ts_missing: str
    labels: dict[str, str]


def json_key(name: str) -> str:
    """A property name as the start of a JSON member, quoted for SQL: '"name":'."""
    return sql_literal(json.dumps(name, ensure_ascii=False) + ":")


def json_pointer(key: str) -> str:
    return sql_literal("/" + key.replace("~", "~0").replace("/", "~1"))


def _object_from_members(members: list[str]) -> str:
    """A JSON object from member fragments, each NULL when the value is absent."""
    if not members:
        return "'{}'"
    return "'{' || concat_ws(',', " + ", ".join(members) + ") || '}'"


def _promoted(present: dict[str, str]) -> str:
    """The promoted columns (session_id, lib, os, url) from their properties."""
    parts = []
    for column, key in PROMOTED_KEYS.items():
        parts.append(f"{present[key]} AS __{column}" if key in present else f"NULL AS __{column}")
    return ", ".join(parts)


# -- CSV ----------------------------------------------------------------------------------------


def csv_kinds(con: duckdb.DuckDBPyConnection, layout: TabularLayout, source: str) -> list[str]:
    """For every property column: "int", "number", "bool" or "text", judged on all its cells.

    The file's first rows are judged first: a column they already show to be text (a cell that
    is neither a number nor a boolean, or both kinds) is text whatever follows, and only the
    other columns are judged on every cell."""
    if not layout.properties:
        return []
    columns = [p.column for p in layout.properties]
    sample = _cell_ranks(con, columns, f"(SELECT * FROM {source} LIMIT {KIND_SAMPLE_ROWS})")
    # (A column with no value in the sample is still undecided.)
    undecided = [
        c
        for c, ranks in zip(columns, sample, strict=True)
        if ranks[0] is None or _kind(ranks) != "text"
    ]
    kinds = dict.fromkeys(columns, "text")
    if undecided:
        full = _cell_ranks(con, undecided, source)
        kinds.update((c, _kind(r)) for c, r in zip(undecided, full, strict=True))
    return [kinds[c] for c in columns]


def _cell_ranks(
    con: duckdb.DuckDBPyConnection, columns: list[str], source: str
) -> list[tuple[int | None, int | None]]:
    """Per column, the lowest and highest rank of its non-empty cells (3 int, 2 number, 1
    bool, 0 text), each cell ranked once."""
    ranks = []
    for i, column in enumerate(columns):
        c = quote_ident(column)
        ranks.append(
            f"CASE WHEN coalesce({c}, '') = '' THEN NULL"
            f" WHEN regexp_full_match({c}, '{INT_PATTERN}') THEN 3"
            f" WHEN regexp_full_match({c}, '{NUMBER_PATTERN}') THEN 2"
            f" WHEN lower({c}) IN ('true', 'false') THEN 1 ELSE 0 END AS k{i}"
        )
    bounds = ", ".join(f"min(k{i}), max(k{i})" for i in range(len(columns)))
    row = first_row(con, f"SELECT {bounds} FROM (SELECT {', '.join(ranks)} FROM {source})")
    return [(row[2 * i], row[2 * i + 1]) for i in range(len(columns))]


def _kind(ranks: tuple[int | None, int | None]) -> str:
    lowest, highest = ranks
    if lowest is None:  # no value at all
        return "text"
    if lowest == 3:
        return "int"
    if lowest == 2:
        return "number"
    if lowest == highest == 1:
        return "bool"
    return "text"


def csv_shape(layout: TabularLayout, kinds: list[str], source: str) -> Shape:
    members = []
    present: dict[str, str] = {}
    for p, kind in zip(layout.properties, kinds, strict=True):
        c = f"s.{quote_ident(p.column)}"
        value = {
            "int": c,
            "number": f"CAST(CAST({c} AS DOUBLE) AS VARCHAR)",
            "bool": f"lower({c})",
            "text": f"to_json({c})",
        }[kind]
        members.append(f"CASE WHEN {c} <> '' THEN {json_key(p.name)} || {value} END")
        present[p.name] = f"NULLIF(s.{quote_ident(p.column)}, '')"
    core = {f: f"s.{quote_ident(c)}" for f, c in layout.core.items()}
    select = f"""
        SELECT s.*, s.rowid AS __row, NULL::BIGINT AS __line,
            NULL::VARCHAR AS __pre_reason, NULL::VARCHAR AS __pre_field,
            NULL::VARCHAR AS __type_event, NULL::VARCHAR AS __type_distinct_id,
            NULL::VARCHAR AS __type_timestamp,
            {core["event"]} AS __event, {core["distinct_id"]} AS __distinct_id,
            ol_parse_ts({core["timestamp"]}) AS __ts,
            {core.get("uuid", "NULL::VARCHAR")} AS __uuid,
            {_object_from_members(members)} AS __props, {_promoted(present)}
        FROM {source} s"""
    ts = quote_ident(layout.core["timestamp"])
    return Shape(select, _orig(layout), ts, f"trim(coalesce({ts}, '')) = ''", _labels(layout))


def _labels(layout: TabularLayout) -> dict[str, str]:
    return {f: layout.label(f) for f in REQUIRED_FIELDS}


def _orig(layout: TabularLayout) -> str:
    columns = list(layout.core.values()) + [p.column for p in layout.properties]
    return "json_object(" + ", ".join(f"{sql_literal(c)}, {quote_ident(c)}" for c in columns) + ")"


# -- Parquet ------------------------------------------------------------------------------------


def _base_type(type_name: str) -> str:
    return type_name.split("(")[0].strip().upper()


def parquet_shape(layout: TabularLayout, types: dict[str, str], source: str) -> Shape:
    members = []
    present: dict[str, str] = {}
    for p in layout.properties:
        c = f"s.{quote_ident(p.column)}"
        base = _base_type(p.type)
        guard = f"{c} IS NOT NULL" + (f" AND isfinite({c})" if base in FLOAT_TYPES else "")
        members.append(f"CASE WHEN {guard} THEN {json_key(p.name)} || to_json({c}) END")
        present[p.name] = f"CAST({c} AS VARCHAR)"
    core = {f: f"s.{quote_ident(c)}" for f, c in layout.core.items()}
    ts_col = core["timestamp"]
    ts_name = quote_ident(layout.core["timestamp"])
    ts_type = _base_type(types[layout.core["timestamp"]])
    ts_missing = f"{ts_name} IS NULL"
    if ts_type == "TIMESTAMP WITH TIME ZONE":
        ts = ts_col
    elif ts_type in TIMESTAMP_TYPES:
        ts = f"CAST({ts_col} AS TIMESTAMPTZ)"
    elif ts_type in NUMERIC_TYPES or ts_type == "DECIMAL":
        ts = f"ol_epoch(CAST({ts_col} AS DOUBLE))"
    elif ts_type == "VARCHAR":
        ts = f"ol_parse_ts({ts_col})"
        ts_missing = f"trim(coalesce({ts_name}, '')) = ''"
    else:
        raise InvalidInput(
            f"the timestamp column {layout.core['timestamp']!r} has the type {ts_type};"
            " it must hold timestamps, dates, ISO 8601 text or epoch seconds/ms",
            "timestamp",
        )
    uuid = f"CAST({core['uuid']} AS VARCHAR)" if "uuid" in core else "NULL::VARCHAR"
    select = f"""
        SELECT s.*, s.file_row_number AS __row, s.file_row_number + 1 AS __line,
            NULL::VARCHAR AS __pre_reason, NULL::VARCHAR AS __pre_field,
            NULL::VARCHAR AS __type_event, NULL::VARCHAR AS __type_distinct_id,
            NULL::VARCHAR AS __type_timestamp,
            CAST({core["event"]} AS VARCHAR) AS __event,
            CAST({core["distinct_id"]} AS VARCHAR) AS __distinct_id,
            {ts} AS __ts, {uuid} AS __uuid,
            {_object_from_members(members)} AS __props, {_promoted(present)}
        FROM {source} s"""
    ts_text = f"CAST({ts_name} AS VARCHAR)"
    return Shape(select, _orig(layout), ts_text, ts_missing, _labels(layout))


# -- JSON Lines ---------------------------------------------------------------------------------


def jsonl_shape(layout: KeyLayout, source: str) -> Shape:
    keys = [layout.core[f] for f in ("event", "distinct_id", "timestamp", "uuid")]
    paths = "[" + ", ".join(json_pointer(k) for k in [*keys, PROPERTIES_KEY]) + "]"
    removed = {k: None for k in layout.dropped}
    removed.update({k: None for k, _ in layout.renamed})
    drop = sql_literal(json.dumps(removed, ensure_ascii=False))
    drop_with_props = sql_literal(json.dumps({**removed, PROPERTIES_KEY: None}, ensure_ascii=False))
    renames = ""
    if layout.renamed:
        pairs = ", ".join(
            f"{sql_literal(new)}, json_extract(__text, {json_pointer(old)})"
            for old, new in layout.renamed
        )
        renames = f", json_object({pairs})"
    scalar = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE')"
    text_of = "CASE WHEN json_type({p}) IN " + scalar + " THEN json_extract_string({p}, '$') END"
    labels = {f: layout.label(f) for f in ("event", "distinct_id", "timestamp")}
    type_checks = [
        ("event", "__p[1]", "('VARCHAR', 'NULL')", "a string"),
        ("distinct_id", "__p[2]", scalar[:-1] + ", 'NULL')", "a string or a number"),
        ("timestamp", "__p[3]", scalar[:-1] + ", 'NULL')", "ISO 8601 text or epoch seconds/ms"),
    ]
    type_reasons = ", ".join(
        f"CASE WHEN json_type({p}) NOT IN {ok} THEN {sql_literal(labels[f] + ' must be ' + what)}"
        f" || ', not ' || ol_json_kind(json_type({p})) END AS __type_{f}"
        for f, p, ok, what in type_checks
    )
    present = {
        key: f"json_extract_string(__props_obj, {json_pointer(key)})"
        for key in PROMOTED_KEYS.values()
    }
    select = f"""
        SELECT *, ol_parse_ts(__ts_text) AS __ts FROM (
        SELECT __row, __line, __pre_reason, __pre_field,
            {type_reasons},
            CASE WHEN json_type(__p[1]) = 'VARCHAR' THEN json_extract_string(__p[1], '$') END
                AS __event,
            {text_of.format(p="__p[2]")} AS __distinct_id,
            {text_of.format(p="__p[3]")} AS __ts_text,
            {text_of.format(p="__p[4]")} AS __uuid,
            CAST(__props_obj AS VARCHAR) AS __props, {_promoted(present)}, __kind, __text, __raw
        FROM (
            SELECT *, CASE WHEN __kind = 'OBJECT' THEN json_merge_patch('{{}}',
                    CASE WHEN json_type(__p[5]) = 'OBJECT' THEN __p[5] ELSE '{{}}' END, __text,
                    CASE WHEN json_type(__p[5]) = 'OBJECT' THEN {drop_with_props} ELSE {drop} END
                    {renames}) END AS __props_obj
            FROM (
                SELECT *, CASE WHEN __kind = 'OBJECT' THEN json_extract(__text, {paths}) END AS __p,
                    CASE WHEN __kind = 'UTF8' THEN 'the line is not valid UTF-8 text'
                        WHEN __kind = 'INVALID' THEN 'the line is not valid JSON'
                        WHEN __kind <> 'OBJECT'
                        THEN 'the line is a JSON ' || ol_json_kind(__kind) || ', not an object' END
                        AS __pre_reason,
                    CASE WHEN __kind <> 'OBJECT' THEN 'line' END AS __pre_field
                FROM (
                    SELECT *, CASE WHEN __text IS NULL THEN 'UTF8'
                        WHEN json_valid(__text) THEN json_type(__text) ELSE 'INVALID' END AS __kind
                    FROM (
                        SELECT _line - 1 AS __row, _line AS __line, _raw AS __raw,
                            TRY(decode(_raw)) AS __text
                        FROM {source}
                    ) lines
                    WHERE __text IS NULL OR trim(__text, ' ' || chr(9) || chr(10) || chr(13)) <> ''
                ) kinds
            ) parts
        ) s
        ) texts"""
    orig = r"""CASE WHEN __kind = 'UTF8'
            THEN to_json(replace(regexp_replace(CAST(__raw AS VARCHAR), '(\\x0D)?\\x0A$', ''),
                '\x22', '"'))
        WHEN __kind = 'INVALID' THEN to_json(rtrim(__text, chr(10) || chr(13)))
        ELSE CAST(__text AS JSON) END"""
    return Shape(select, orig, "__ts_text", "trim(coalesce(__ts_text, '')) = ''", labels)
