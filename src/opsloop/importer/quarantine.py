"""The quarantine file: one JSON object per refused row, {"line", "reason", "field", "row"},
in the order of the source file. `line` is 1-based (a CSV's header is line 1; for Parquet it is
the row number); `row` is the original row (an object of its columns, or the raw line when it
could not be parsed)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from opsloop.importer.csvlines import csv_records
from opsloop.importer.reader import CSV_REJECTS, StagedFile, first_row, sql_literal
from opsloop.importer.validate import CHECKED

# DuckDB's names for the CSV rows it could not parse, as reasons a person understands.
FIELD_COUNT = (
    "'the row has ' || regexp_extract(error_message, 'Found: ([0-9]+)', 1)"
    " || ' fields, the header has '"
    " || regexp_extract(error_message, 'Expected Number of Columns: ([0-9]+)', 1)"
)
REJECT_REASON = f"""CASE CAST(error_type AS VARCHAR)
    WHEN 'MISSING COLUMNS' THEN {FIELD_COUNT}
    WHEN 'TOO MANY COLUMNS' THEN {FIELD_COUNT}
    WHEN 'INVALID ENCODING' THEN 'the row is not valid UTF-8 text (save the file as UTF-8)'
    WHEN 'UNQUOTED VALUE' THEN 'a quoted field has text after its closing quote'
    WHEN 'LINE SIZE OVER MAXIMUM' THEN 'the row is longer than the longest line allowed'
    ELSE error_message END"""


def csv_rejects(con: duckdb.DuckDBPyConnection) -> int:
    """Gather the CSV rows DuckDB could not parse (one entry per row) into `_rejects`."""
    (exists,) = first_row(
        con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [CSV_REJECTS]
    )
    if exists == 0:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rejects"
            " (record BIGINT, reason VARCHAR, field VARCHAR, row JSON)"
        )
        return 0
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rejects AS
        SELECT CAST(line AS BIGINT) AS record, {REJECT_REASON} AS reason,
            CASE WHEN CAST(error_type AS VARCHAR) = 'INVALID ENCODING' AND column_name IS NOT NULL
                THEN column_name ELSE 'row' END AS field,
            to_json(trim(csv_line, chr(10) || chr(13))) AS row
        FROM {CSV_REJECTS}
        QUALIFY row_number() OVER (PARTITION BY line ORDER BY byte_position) = 1"""
    )
    (found,) = first_row(con, "SELECT count(*) FROM _rejects")
    return int(found)


def write_quarantine(con: duckdb.DuckDBPyConnection, staged: StagedFile, path: Path) -> None:
    """Write every refused row of `_checked` (and `_rejects` for CSV) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if staged.format == "csv":
        _register_csv_lines(con, staged)
        rows = f"""
            SELECT l.line, c.reason, c.field, c.orig AS row
            FROM {CHECKED} c JOIN _row_lines l ON l._row = c._row WHERE c.reason IS NOT NULL
            UNION ALL
            SELECT l.line, r.reason, r.field, r.row
            FROM _rejects r JOIN _record_lines l ON l.record = r.record"""
    else:
        rows = (
            f"SELECT _line AS line, reason, field, orig AS row FROM {CHECKED}"
            " WHERE reason IS NOT NULL"
        )
    con.execute(
        f"COPY (SELECT line, reason, field, row FROM ({rows}) q ORDER BY line)"
        f" TO {sql_literal(str(path))} (FORMAT JSON)"
    )


def _register_csv_lines(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Tables `_row_lines(_row, line)` and `_record_lines(record, line)` for the refused rows."""
    assert staged.dialect is not None
    failing = con.execute(
        f"SELECT _row FROM {CHECKED} WHERE reason IS NOT NULL ORDER BY _row"
    ).fetchnumpy()["_row"]
    rejected = con.execute("SELECT record FROM _rejects ORDER BY record").fetchnumpy()["record"]
    failing = np.asarray(failing, dtype=np.int64)
    rejected = np.asarray(rejected, dtype=np.int64)
    records = csv_records(staged.path, staged.gzipped, staged.dialect)
    row_lines = records.lines_of_rows(failing, rejected, one_column=len(staged.columns) == 1)
    con.register("_row_lines", pa.table({"_row": failing, "line": row_lines}))
    con.register(
        "_record_lines", pa.table({"record": rejected, "line": records.lines_of_records(rejected)})
    )
