"""CSV record boundaries found with numpy agree with Python's csv module, chunk by chunk."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.importer import csvlines
from opsloop.importer.csvlines import csv_records
from opsloop.importer.reader import CsvDialect

DIALECT = CsvDialect(",", '"', '"')

# A lone carriage return is not a line break here (nor in DuckDB's reading of the file).
cells = st.text(alphabet=st.sampled_from(list('ab,"\n 张')), max_size=6)
rows = st.lists(st.lists(cells, min_size=1, max_size=3), min_size=1, max_size=12)


def reference(text: str) -> tuple[list[int], list[bool]]:
    """Each record's first line and whether it is blank, as Python's csv module reads them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, blanks, previous = [], [], 0
    for row in reader:
        starts.append(previous + 1)
        blanks.append(not row)
        previous = reader.line_num
    return starts, blanks


def render(records: list[list[str]], blank_after: set[int], crlf: bool) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    for i, record in enumerate(records):
        writer.writerow(record)
        if i in blank_after:
            out.write("\r\n" if crlf else "\n")
    return out.getvalue()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=rows,
    blank_after=st.sets(st.integers(0, 11), max_size=3),
    crlf=st.booleans(),
    chunk=st.integers(1, 64),
    trailing_newline=st.booleans(),
)
def test_records_match_the_csv_module(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: list[list[str]],
    blank_after: set[int],
    crlf: bool,
    chunk: int,
    trailing_newline: bool,
) -> None:
    text = render(records, blank_after, crlf)
    if not trailing_newline:
        text = text.rstrip("\r\n")
    if not text:
        return
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    monkeypatch.setattr(csvlines, "CHUNK_BYTES", chunk)
    found = csv_records(path, False, DIALECT)
    starts, blanks = reference(text)
    assert found.start_lines.tolist() == starts
    assert found.blank.tolist() == blanks


def test_rows_and_rejected_records_map_to_their_lines(tmp_path: Path) -> None:
    text = 'h1,h2\na,1\n\n"x\ny",2\nbad\n\nc,3\n'
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    records = csv_records(path, True, DIALECT)
    assert records.start_lines.tolist() == [1, 2, 3, 4, 6, 7, 8]
    # DuckDB numbers records counting blank lines: "bad" is record 5, on line 6.
    assert records.lines_of_records(np.array([5])).tolist() == [6]
    # The rows it produced: a (record 2), "x\ny" (4), c (7); blank and rejected ones skipped.
    rows = records.lines_of_rows(np.array([0, 1, 2]), np.array([5]), one_column=False)
    assert rows.tolist() == [2, 4, 8]


def test_backslash_escapes_are_walked_by_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('h\n"a\\"\nb"\nc\n')
    records = csv_records(path, False, CsvDialect(",", '"', "\\"))
    assert records.start_lines.tolist() == [1, 2, 4]
