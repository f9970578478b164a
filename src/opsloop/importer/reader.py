"""Reading an import file into a private in-memory DuckDB: CSV, JSON Lines or Parquet.

Nothing here loops over rows in Python: DuckDB parses CSV and Parquet, and JSON Lines are cut
into lines with numpy (so that every line keeps its exact number, even the broken ones).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

import duckdb
import numpy as np
import pyarrow as pa

from opsloop.errors import InvalidInput

ImportFormat = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[ImportFormat, ...] = ("csv", "jsonl", "parquet")
EXTENSIONS: dict[str, ImportFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
GZIP_MAGIC = b"\x1f\x8b"
CSV_DELIMITERS = (",", "\t", ";", "|")
JSONL_CHUNK_BYTES = 16 * 1024 * 1024
# A Parquet file with fewer row groups than this many per thread is copied before it is checked.
PARQUET_PARALLEL_GROUPS = 2

# Staged tables in the private connection.
SRC = "_src"
CSV_REJECTS = "_csv_reject_errors"
CSV_SCANS = "_csv_reject_scans"


@dataclass(frozen=True, slots=True)
class CsvDialect:
    delimiter: str
    quote: str
    escape: str


@dataclass(frozen=True, slots=True)
class StagedFile:
    """Where the file's rows are now, and what their columns are called and typed.

    CSV: table `_src` (every column VARCHAR, rowid = order in the file) and the rows DuckDB
    could not parse in `_csv_reject_errors`. JSON Lines: table `_src(_line, _raw)`. Parquet:
    `source` is a read_parquet(...) call with `file_row_number`, or table `_src` holding its
    rows when the file has too few row groups to be read in parallel.
    """

    format: ImportFormat
    path: Path
    source: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    gzipped: bool
    dialect: CsvDialect | None = None


ProgressHook = Callable[[int], None]


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> tuple[Any, ...]:
    """The first row of a query, reading the result to its end (DuckDB keeps a connection busy
    until then)."""
    rows = con.execute(sql, params).fetchall()
    if not rows:
        raise LookupError(f"no row from: {sql[:80]}")
    return tuple(rows[0])


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_gzipped(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def infer_format(path: Path, given: str | None) -> ImportFormat:
    """The format named by --format, else the one the file's extension says (.gz allowed)."""
    if given is not None:
        name = given.strip().lower()
        for known in FORMATS:
            if name == known:
                return known
        if name in ("ndjson", "json"):
            return "jsonl"
        raise InvalidInput(f"unknown format {given!r}; use csv, jsonl or parquet", "--format")
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name} from its extension;"
            " pass --format csv, jsonl or parquet",
            "--format",
        )
    if gzipped and fmt == "parquet":
        raise InvalidInput(
            "a gzip-compressed Parquet file is not supported (Parquet compresses itself);"
            " unpack it first",
            "FILE",
        )
    return fmt


def stage(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: ImportFormat,
    on_bytes: ProgressHook | None = None,
) -> StagedFile:
    """Load (or point at) the file's rows in `con`; errors about the file as a whole raise."""
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", "FILE")
    gzipped = is_gzipped(path)
    try:
        if fmt == "csv":
            return _stage_csv(con, path, gzipped)
        if fmt == "jsonl":
            return _stage_jsonl(con, path, gzipped, on_bytes)
        if gzipped:
            raise InvalidInput("a gzip-compressed Parquet file is not supported", "FILE")
        return _stage_parquet(con, path)
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"cannot read {path.name} as {fmt}: {first}", "FILE") from exc


def _row_groups(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    row = first_row(
        con, f"SELECT num_row_groups FROM parquet_file_metadata({sql_literal(str(path))})"
    )
    return int(row[0])


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return int(first_row(con, "SELECT current_setting('threads')")[0])


def _describe(con: duckdb.DuckDBPyConnection, source: str) -> tuple[list[str], list[str]]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    return [str(r[0]) for r in rows], [str(r[1]) for r in rows]


def _csv_dialect(path: Path, gzipped: bool) -> CsvDialect:
    """RFC 4180 quoting; the delimiter is the candidate the header line holds most of.

    (DuckDB's sniffer weighs the data rows, and a file with broken rows can fool it.)
    """
    with open_bytes(path, gzipped) as (f, _):
        header = f.readline(1024 * 1024).decode("utf-8", errors="replace")
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    delimiter = max(CSV_DELIMITERS, key=lambda d: counts[d])
    return CsvDialect(delimiter if counts[delimiter] else ",", '"', '"')


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool) -> StagedFile:
    compression = "gzip" if gzipped else "none"
    if _is_empty(path, gzipped):
        raise InvalidInput(f"{path.name} is empty: a CSV file needs a header line", "FILE")
    dialect = _csv_dialect(path, gzipped)
    source = (
        f"read_csv({sql_literal(str(path))}, all_varchar = true, header = true, skip = 0,"
        f" delim = {sql_literal(dialect.delimiter)}, quote = {sql_literal(dialect.quote)},"
        f" escape = {sql_literal(dialect.escape)}, compression = {sql_literal(compression)},"
        " ignore_errors = true, store_rejects = true,"
        f" rejects_table = {sql_literal(CSV_REJECTS)}, rejects_scan = {sql_literal(CSV_SCANS)})"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SRC} AS SELECT * FROM {source}")
    columns, types = _describe(con, SRC)
    return StagedFile("csv", path, SRC, tuple(columns), tuple(types), gzipped, dialect)


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> StagedFile:
    source = f"read_parquet({sql_literal(str(path))}, file_row_number = true)"
    columns, types = _describe(con, source)
    pairs = [(c, t) for c, t in zip(columns, types, strict=True) if c != "file_row_number"]
    if _row_groups(con, path) < PARQUET_PARALLEL_GROUPS * _threads(con):
        # DuckDB reads a Parquet row group on one thread, and files written with the usual
        # defaults hold a million rows or more per group: copied into a table first (a quick
        # scan), the checks that follow run on every core (measured: 1M rows in one group
        # checked in 1.6 s straight from the file, 0.2 + 0.8 s through the copy).
        con.execute(f"CREATE OR REPLACE TEMP TABLE {SRC} AS SELECT * FROM {source}")
        source = SRC
    return StagedFile(
        "parquet",
        path,
        source,
        tuple(c for c, _ in pairs),
        tuple(t for _, t in pairs),
        False,
    )


@contextmanager
def open_bytes(path: Path, gzipped: bool) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """The file's (decompressed) bytes, and the raw file under them (for progress)."""
    with path.open("rb") as raw:
        if gzipped:
            with gzip.GzipFile(fileobj=raw) as unpacked:
                yield cast(IO[bytes], unpacked), raw
        else:
            yield raw, raw


def _is_empty(path: Path, gzipped: bool) -> bool:
    with open_bytes(path, gzipped) as (f, _):
        return f.read(1) == b""


def _stage_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, on_bytes: ProgressHook | None
) -> StagedFile:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SRC} (_line BIGINT, _raw BLOB)")
    next_line = 1
    carry = b""
    with open_bytes(path, gzipped) as (f, raw):
        done = 0
        while chunk := f.read(JSONL_CHUNK_BYTES):
            buf = carry + chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
            else:
                carry = buf[cut + 1 :]
                next_line = _insert_lines(con, buf[: cut + 1], next_line)
            if on_bytes is not None:
                position = raw.tell()
                on_bytes(position - done)
                done = position
        if carry:
            _insert_lines(con, carry, next_line)
    return StagedFile("jsonl", path, SRC, ("_line", "_raw"), ("BIGINT", "BLOB"), gzipped)


def _insert_lines(con: duckdb.DuckDBPyConnection, body: bytes, first_line: int) -> int:
    """Append the lines of `body` (each with its newline) to _src; returns the next number."""
    data = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(data == 10) + 1
    if not body.endswith(b"\n"):
        ends = np.append(ends, len(body))
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    count = len(ends)
    lines = pa.Array.from_buffers(
        pa.large_binary(), count, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(body)]
    )
    numbers = pa.array(np.arange(first_line, first_line + count, dtype=np.int64))
    chunk = pa.table({"_line": numbers, "_raw": lines})
    con.register("_jsonl_chunk", chunk)
    try:
        con.execute(f"INSERT INTO {SRC} SELECT _line, _raw FROM _jsonl_chunk")
    finally:
        con.unregister("_jsonl_chunk")
    return first_line + count
