"""Console tables as downloads, in one place for every table: CSV (with a byte-order mark, so
that Excel opens Chinese text correctly) and Excel .xlsx with typed cells.

A page describes its table once as an `ExportTable` (typed columns, rows of Python values) and
answers with `export_response(table, fmt)`; the same table gives both files.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import xlsxwriter
from fastapi.responses import Response

from opsloop.errors import NotFound

ColumnKind = Literal["text", "integer", "number", "percent", "datetime", "date"]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# Excel formats per column kind (datetimes are written as local wall-clock times).
XLSX_NUMBER_FORMATS: dict[ColumnKind, str] = {
    "text": "@",
    "integer": "#,##0",
    "number": "General",
    "percent": "0.0%",  # a share stored as 0.25, shown as 25.0%
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "date": "yyyy-mm-dd",
}
# Column widths in characters (a CJK character counts as two), fitted to the content.
MIN_WIDTH = 6
MAX_WIDTH = 60
WIDTH_SAMPLE_ROWS = 1000
FIXED_WIDTHS: dict[ColumnKind, int] = {"datetime": 20, "date": 11}
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: ColumnKind = "text"


@dataclass(frozen=True, slots=True)
class ExportTable:
    """A table to download. Cells hold Python values of their column's kind (or None): str,
    int, float, aware datetime or date. Datetimes are shown in `timezone`."""

    name: str  # the file name without its extension
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[Any]]
    timezone: str = "UTC"
    sheet: str = "Sheet1"  # the Excel sheet's name (shortened to what Excel allows)
    frozen_columns: int = 0  # columns kept in view when scrolling sideways in Excel


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def _csv_cell(value: Any, kind: ColumnKind, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return str(_local(value, tz).isoformat())
    if kind == "date":
        return str(value.isoformat())
    return str(value)


def csv_bytes(table: ExportTable) -> bytes:
    tz = ZoneInfo(table.timezone)
    kinds = [c.kind for c in table.columns]
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(v, k, tz) for v, k in zip(row, kinds, strict=True)])
    return buf.getvalue().encode("utf-8")


def display_width(text: str) -> int:
    """How many character cells `text` takes in a spreadsheet: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_widths(table: ExportTable) -> list[int]:
    """Each column's width: its header or its widest value among the first rows, within bounds."""
    widths = []
    sample = table.rows[:WIDTH_SAMPLE_ROWS]
    for i, column in enumerate(table.columns):
        fixed = FIXED_WIDTHS.get(column.kind, 0)
        widest = max((display_width(_width_text(row[i], column.kind)) for row in sample), default=0)
        widths.append(min(MAX_WIDTH, max(MIN_WIDTH, display_width(column.header), widest, fixed)))
    return [w + 2 for w in widths]


def _width_text(value: Any, kind: ColumnKind) -> str:
    if value is None or kind in FIXED_WIDTHS:  # shown in a fixed format
        return ""
    if kind == "integer":
        return f"{value:,}"
    return str(value)


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of []:*?/\\."""
    cleaned = name.translate(SHEET_NAME_FORBIDDEN).strip("'")[:SHEET_NAME_MAX]
    return cleaned or "Sheet1"


def xlsx_bytes(table: ExportTable) -> bytes:
    """An Excel workbook of one sheet: a bold, frozen header row with a filter, typed cells."""
    tz = ZoneInfo(table.timezone)
    buf = io.BytesIO()
    # Text is always written as text: a value like "=1+1" must not become a formula. Excel keeps
    # at most 32,767 characters in a cell; longer text is cut there.
    workbook = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
        },
    )
    sheet = workbook.add_worksheet(sheet_name(table.sheet))
    header = workbook.add_format({"bold": True, "bottom": 1, "bg_color": "#F2F4F7"})
    formats = {
        kind: workbook.add_format({"num_format": fmt}) for kind, fmt in XLSX_NUMBER_FORMATS.items()
    }
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, column.header, header)
    writers: dict[ColumnKind, Callable[[int, int, Any, Any], Any]] = {
        "text": lambda r, c, v, f: sheet.write_string(r, c, str(v), f),
        "integer": lambda r, c, v, f: sheet.write_number(r, c, v, f),
        "number": lambda r, c, v, f: sheet.write_number(r, c, v, f),
        "percent": lambda r, c, v, f: sheet.write_number(r, c, v, f),
        "datetime": lambda r, c, v, f: sheet.write_datetime(
            r, c, _local(v, tz).replace(tzinfo=None), f
        ),
        "date": lambda r, c, v, f: sheet.write_datetime(r, c, v, f),
    }
    for r, row in enumerate(table.rows, start=1):
        for c, (value, column) in enumerate(zip(row, table.columns, strict=True)):
            if value is not None:
                writers[column.kind](r, c, value, formats[column.kind])
    for col, width in enumerate(column_widths(table)):
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, table.frozen_columns)
    if table.columns:
        sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
    workbook.close()
    return buf.getvalue()


EXPORT_FORMATS: dict[str, tuple[Callable[[ExportTable], bytes], str]] = {
    "csv": (csv_bytes, CSV_MEDIA_TYPE),
    "xlsx": (xlsx_bytes, XLSX_MEDIA_TYPE),
}


def export_response(table: ExportTable, fmt: str) -> Response:
    """The table as a download in `fmt` ("csv" or "xlsx"); another format is a 404."""
    if fmt not in EXPORT_FORMATS:
        raise NotFound(f"no export as {fmt!r}; use csv or xlsx", "format")
    build, media_type = EXPORT_FORMATS[fmt]
    filename = f"{table.name}.{fmt}"
    return Response(
        build(table),
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
