"""Line numbers of CSV records, for the quarantine file.

DuckDB reads CSV fast but tells neither where a good row started nor, reliably, where a bad one
did (it numbers records, counting blank lines and not the extra lines of quoted newlines). So when
a row has to be quarantined, the record boundaries are found again here: a newline ends a record
when the quotes before it are balanced (RFC 4180), computed with numpy over the bytes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opsloop.importer.reader import CsvDialect, open_bytes

CHUNK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CsvRecords:
    """Every record of the file (record 0 is the header): its first line and whether it is
    blank (DuckDB skips blank lines, except in a one-column file)."""

    start_lines: np.ndarray
    blank: np.ndarray

    def lines_of_records(self, numbers: np.ndarray) -> np.ndarray:
        """Lines of records by DuckDB's 1-based record numbers (its reject_errors.line)."""
        index = np.clip(numbers.astype(np.int64) - 1, 0, len(self.start_lines) - 1)
        return self.start_lines[index]

    def lines_of_rows(
        self, ordinals: np.ndarray, rejected: np.ndarray, one_column: bool
    ) -> np.ndarray:
        """Lines of the rows DuckDB produced, by their 0-based order: the records after the
        header that were neither rejected nor (in a file of several columns) blank."""
        keep = np.ones(len(self.start_lines), dtype=bool)
        keep[0] = False
        if not one_column:
            keep &= ~self.blank
        rejected_index = rejected.astype(np.int64) - 1
        rejected_index = rejected_index[(rejected_index >= 0) & (rejected_index < len(keep))]
        keep[rejected_index] = False
        produced = self.start_lines[keep]
        if len(produced) == 0:
            return np.zeros(len(ordinals), dtype=np.int64)
        return produced[np.clip(ordinals.astype(np.int64), 0, len(produced) - 1)]


def csv_records(path: Path, gzipped: bool, dialect: CsvDialect) -> CsvRecords:
    if dialect.escape and dialect.escape != dialect.quote:
        return _records_with_csv_module(path, gzipped, dialect)
    quote = dialect.quote.encode()[0] if dialect.quote else None
    starts: list[np.ndarray] = [np.array([1], dtype=np.int64)]
    blanks: list[np.ndarray] = []
    lines_before = 0  # newlines in earlier chunks
    quotes_before = 0
    offset = 0  # position of this chunk in the file
    last_end = -1  # position of the newline that ended the previous record
    last_byte = 0  # the byte before this chunk
    with open_bytes(path, gzipped) as (f, _):
        while chunk := f.read(CHUNK_BYTES):
            data = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(data == 10)
            balanced = np.ones(len(newlines), dtype=bool)
            if quote is not None:
                quote_at = np.flatnonzero(data == quote)
                balanced = (quotes_before + np.searchsorted(quote_at, newlines)) % 2 == 0
                quotes_before += len(quote_at)
            starts.append(lines_before + np.flatnonzero(balanced) + 2)
            ends = newlines[balanced].astype(np.int64) + offset
            previous = np.concatenate(([last_end], ends[:-1])).astype(np.int64)
            length = ends - previous - 1
            blank = length == 0
            one_byte = np.flatnonzero(length == 1)  # a record of one byte: is it a '\r'?
            at = previous[one_byte] + 1 - offset
            first = np.where(at >= 0, data[np.maximum(at, 0)], last_byte)
            blank[one_byte] = first == 13
            blanks.append(blank)
            if len(ends):
                last_end = int(ends[-1])
            lines_before += len(newlines)
            offset += len(chunk)
            last_byte = chunk[-1]
    start_lines = np.concatenate(starts)
    blank_all = np.concatenate([*blanks, np.array([False])])
    if last_end == offset - 1:  # the file ends with a newline: no record after it
        start_lines, blank_all = start_lines[:-1], blank_all[:-1]
    return CsvRecords(start_lines, blank_all)


def _records_with_csv_module(path: Path, gzipped: bool, dialect: CsvDialect) -> CsvRecords:
    """Backslash-style escapes break the quote-balance rule: let Python's csv module walk it."""
    starts: list[int] = []
    blanks: list[bool] = []
    with open_bytes(path, gzipped) as (f, _):
        text = io.TextIOWrapper(f, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(
            text,
            delimiter=dialect.delimiter,
            quotechar=dialect.quote or None,
            escapechar=dialect.escape or None,
            doublequote=False,
            quoting=csv.QUOTE_MINIMAL if dialect.quote else csv.QUOTE_NONE,
        )
        previous = 0
        for row in reader:
            starts.append(previous + 1)
            blanks.append(not row)
            previous = reader.line_num
    return CsvRecords(np.array(starts, dtype=np.int64), np.array(blanks, dtype=bool))
