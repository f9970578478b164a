"""Table downloads: the same table as CSV and as an Excel workbook with typed cells, read back
with openpyxl (an independent reader) and compared whole."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest

from opsloop.errors import NotFound
from opsloop.web.export import (
    XLSX_MEDIA_TYPE,
    Column,
    ExportTable,
    csv_bytes,
    display_width,
    export_response,
    sheet_name,
    xlsx_bytes,
)

TABLE = ExportTable(
    "orders-商城",
    (
        Column("timestamp", "datetime"),
        Column("城市"),
        Column("orders", "integer"),
        Column("amount", "number"),
        Column("day", "date"),
    ),
    [
        (
            datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC),
            "杭州市西湖区",
            12_345,
            99.5,
            date(2026, 11, 1),
        ),
        # Local midnight: the day in Shanghai is a day later than in UTC.
        (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), "=1+1", 0, -0.25, date(2026, 11, 2)),
        (None, "", None, None, None),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "http://shop.example/a", 7, 1e9, None),
    ],
    timezone="Asia/Shanghai",
    sheet="订单明细",
    frozen_columns=1,
)
# What Excel shows: wall-clock times in Shanghai, numbers as numbers, text as typed.
EXPECTED_ROWS: list[tuple[Any, ...]] = [
    ("timestamp", "城市", "orders", "amount", "day"),
    (datetime(2026, 11, 1, 8, 0, 1), "杭州市西湖区", 12_345, 99.5, datetime(2026, 11, 1)),
    (datetime(2026, 11, 2, 0, 0), "=1+1", 0, -0.25, datetime(2026, 11, 2)),
    (None, "", None, None, None),
    (datetime(2027, 1, 1, 7, 59, 59), "http://shop.example/a", 7, 1e9, None),
]


def _column_widths(data: bytes) -> dict[int, float]:
    """<col min max width> of the sheet, by 1-based column (openpyxl groups equal columns)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    widths = {}
    for lo, hi, width in re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', xml):
        for c in range(int(lo), int(hi) + 1):
            widths[c] = float(width)
    return widths


def test_the_workbook_reads_back_with_types_and_layout() -> None:
    data = xlsx_bytes(TABLE)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["订单明细"]
    sheet = book.active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True)) == EXPECTED_ROWS
    types = [[(c.data_type, c.number_format) for c in row] for row in sheet.iter_rows(min_row=2)]
    assert types[0] == [
        ("d", "yyyy-mm-dd hh:mm:ss"),
        ("s", "@"),
        ("n", "#,##0"),
        ("n", "General"),
        ("d", "yyyy-mm-dd"),
    ]
    # Text that looks like a formula or a link stays text.
    assert (types[1][1], types[3][1]) == (("s", "@"), ("s", "@"))
    assert [c.font.b for c in sheet[1]] == [True] * 5
    assert not any(c.font.b for c in sheet[2])
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("B2", "A1:E5")
    # Widths in characters (+2 for the filter button): a Chinese character counts twice;
    # times and days have fixed widths. xlsxwriter stores n characters as n + 5/7.
    widths = {c: round(w - 5 / 7, 2) for c, w in _column_widths(data).items()}
    assert widths == {1: 22, 2: 23, 3: 8, 4: 14, 5: 13}


def test_csv_has_the_same_cells_as_text() -> None:
    text = csv_bytes(TABLE).decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["timestamp", "城市", "orders", "amount", "day"],
        ["2026-11-01T08:00:01+08:00", "杭州市西湖区", "12345", "99.5", "2026-11-01"],
        ["2026-11-02T00:00:00+08:00", "=1+1", "0", "-0.25", "2026-11-02"],
        ["", "", "", "", ""],
        ["2027-01-01T07:59:59+08:00", "http://shop.example/a", "7", "1000000000.0", ""],
    ]


def test_an_empty_table_still_has_its_header() -> None:
    table = ExportTable("empty", (Column("event"), Column("total", "integer")), [])
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table))).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True)) == [("event", "total")]
    assert (sheet.title, sheet.freeze_panes) == ("Sheet1", "A2")


def test_the_response_names_the_file_and_refuses_other_formats() -> None:
    r = export_response(TABLE, "xlsx")
    assert r.media_type == XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''orders-%E5%95%86%E5%9F%8E.xlsx"
    )
    assert r.body == xlsx_bytes(TABLE)
    with pytest.raises(NotFound):
        export_response(TABLE, "xls")


def test_sheet_names_and_widths() -> None:
    assert sheet_name("a/b[c]:d*e?f\\g") == "a_b_c__d_e_f_g"
    assert sheet_name("x" * 40) == "x" * 31
    assert sheet_name("") == "Sheet1"
    assert [display_width(s) for s in ("abc", "杭州", "ａ", "")] == [3, 4, 2, 0]
