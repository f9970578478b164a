"""The answer renderer of `opsloop query` on answers shaped like each kind's (funnel steps in
cells, paths without results, timeline properties, retention periods), whole rows compared."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from opsloop.cli import common
from opsloop.cli.query_output import (
    cell_text,
    csv_rows,
    lines_as_columns,
    print_csv,
    print_table,
)

FUNNEL: dict[str, Any] = {
    "kind": "funnel",
    "results": [
        {"breakdown_value": "iOS", "steps": [
            {"event": "view", "count": 10, "conversion_from_start": 1.0},
            {"event": "pay", "count": 4, "conversion_from_start": 0.4},
        ]},
        {"breakdown_value": "小程序", "steps": [
            {"event": "view", "count": 5, "conversion_from_start": 1.0},
            {"event": "pay", "count": 0, "conversion_from_start": 0.0},
        ]},
    ],
    "seconds": 0.01,
    "cached": False,
}  # fmt: skip
PATHS: dict[str, Any] = {
    "kind": "paths",
    "nodes": [{"name": "app_open", "step": 1}, {"name": "pay", "step": 2}],
    "links": [{"source": "app_open", "target": "pay", "value": 3}],
}
TIMELINE: dict[str, Any] = {
    "kind": "timeline",
    "distinct_ids": ["u1", "anon-9"],
    "results": [
        {"event": "pay", "properties": {"amount": 9.5, "category": "美妆"}},
        {"event": "app_open", "properties": {}},
    ],
    "next": "abc",
}


def test_lists_of_dicts_in_cells_become_a_row_per_item() -> None:
    assert csv_rows(FUNNEL) == [
        {"breakdown_value": "iOS", "event": "view", "count": 10, "conversion_from_start": 1.0},
        {"breakdown_value": "iOS", "event": "pay", "count": 4, "conversion_from_start": 0.4},
        {"breakdown_value": "小程序", "event": "view", "count": 5, "conversion_from_start": 1.0},
        {"breakdown_value": "小程序", "event": "pay", "count": 0, "conversion_from_start": 0.0},
    ]


def test_an_answer_without_results_gives_every_list_with_its_section() -> None:
    assert csv_rows(PATHS) == [
        {"section": "nodes", "name": "app_open", "step": 1},
        {"section": "nodes", "name": "pay", "step": 2},
        {"section": "links", "source": "app_open", "target": "pay", "value": 3},
    ]


def test_csv_keeps_dicts_and_text_lists_as_json_and_spreads_number_lists(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_csv(TIMELINE)
    assert capsys.readouterr().out == (
        'event,properties\npay,"{""amount"":9.5,""category"":""美妆""}"\napp_open,{}\n'
    )
    retention = {"results": [
        {"cohort": "2026-06-01", "values": [2, 1, None], "ids": ["a", "b"]},
        {"cohort": "2026-06-02", "values": [1, 0, None], "ids": ["c", "d"]},
    ]}  # fmt: skip
    print_csv(retention)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["cohort", "ids", "values_0", "values_1", "values_2"],
        ["2026-06-01", '["a","b"]', "2", "1", ""],
        ["2026-06-02", '["c","d"]', "1", "0", ""],
    ]


def test_cells_are_short_and_readable() -> None:
    assert [cell_text(v) for v in (None, True, 1234567, 0.3333333, 2.0, "小红书")] == [
        "", "true", "1,234,567", "0.3333", "2", "小红书"
    ]  # fmt: skip
    assert cell_text(list(range(15))) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, … (+3)]"
    assert cell_text({"amount": 9.5, "ids": ["a"]}) == "{amount: 9.5, ids: [a]}"
    assert cell_text("x" * 100) == "x" * 59 + "…"


def test_dated_lines_pivot_to_the_latest_dates_that_fit() -> None:
    rows = [
        {"label": "pay", "event": "pay", "dates": ["2026-06-01", "2026-06-02", "2026-06-03"],
         "values": [1, 2, 3], "total": 6},
    ]  # fmt: skip
    wide, note = lines_as_columns(rows, 200)
    assert (wide, note) == (
        [{"label": "pay", "total": 6, "06-01": 1, "06-02": 2, "06-03": 3}],
        "dates in 2026",
    )
    # label 5+3, total 5+3, each date 5+3: room for two dates in 8 + 8 + 16 cells
    narrow, note = lines_as_columns(rows, 32)
    assert narrow == [{"label": "pay", "total": 6, "06-02": 2, "06-03": 3}]
    assert note == "dates in 2026; the last 2 of 3 dates (--csv or --json give them all)"
    crossing = [{"status": "new", "dates": ["2025-12", "2026-01"], "values": [1, 0]}]
    assert lines_as_columns(crossing, 200) == (
        [{"status": "new", "2025-12": 1, "2026-01": 0}],
        None,
    )


def test_the_table_shows_plain_fields_then_each_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.out_console, "width", 120)
    print_table(PATHS)
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0] == "kind: paths"
    cells = [[c.strip() for c in line.split("│")] for line in lines if "│" in line]
    assert cells == [["app_open", "1"], ["pay", "2"], ["app_open", "pay", "3"]]
    assert lines.index("nodes") < lines.index("links")
    print_table({"kind": "segment", "count": 0, "results": []})
    assert capsys.readouterr().out.splitlines() == ["kind: segment  count: 0", "results: none"]


METRICS: dict[str, Any] = {
    "kind": "metrics",
    "metrics": [
        {"key": "dau", "kind": "active_users", "name": {"zh-CN": "日活（DAU）", "en": "DAU"},
         "description": {"zh-CN": "每个自然日的活跃去重人数。", "en": "Distinct active persons."},
         "format": "number", "decimals": 0},
        {"key": "gmv", "kind": "sum", "name": {"zh-CN": "成交总额（GMV）", "en": "GMV"},
         "description": {"zh-CN": "金额之和。", "en": "Sum of amount."},
         "format": "currency", "currency": "CNY", "decimals": 2},
        {"key": "paid_conversion", "kind": "formula", "name": {"zh-CN": "付费转化率",
         "en": "Paid conversion"}, "description": {"zh-CN": "付费 / 活跃", "en": "paying / active"},
         "format": "percent", "decimals": 2},
    ],
    "results": [
        {"metric": "dau", "label": "dau", "params": {}, "dates": ["2026-11-01", "2026-11-02"],
         "values": [240, 247], "total": 243.5},
        {"metric": "gmv", "label": "gmv", "params": {}, "dates": ["2026-11-01", "2026-11-02"],
         "values": [8219.2, 4877.85], "total": 13097.05},
        {"metric": "paid_conversion", "label": "paid_conversion", "params": {},
         "dates": ["2026-11-01", "2026-11-02"], "values": [0.108333, None], "total": 0.13274},
    ],
}  # fmt: skip


def test_metric_answers_read_as_the_console_shows_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.out_console, "width", 200)
    print_table(METRICS)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    tables = [[[c.strip() for c in line.split("┃" if "┃" in line else "│")] for line in lines
               if "│" in line or "┃" in line]]  # fmt: skip
    rows = tables[0]
    # The definitions: names in both languages, no prose.
    assert rows[0] == ["key", "kind", "name", "format", "decimals", "currency"]
    assert rows[1] == ["dau", "active_users", "日活（DAU） / DAU", "number", "0", ""]
    assert rows[3][2] == "付费转化率 / Paid conversion"
    # The values at each metric's decimals, a rate as a percentage; label and params say
    # nothing the key does not.
    assert rows[4] == ["metric", "total", "11-01", "11-02"]
    assert rows[5:] == [
        ["dau", "244", "240", "247"],
        ["gmv", "13,097.05", "8,219.20", "4,877.85"],
        ["paid_conversion", "13.27%", "10.83%", ""],
    ]
    assert not any("自然日" in line for line in lines)
    # --json and --csv keep every field as answered.
    rows_csv = csv_rows(METRICS)
    assert rows_csv[0] == {
        "metric": "dau", "label": "dau", "params": {}, "total": 243.5, "date": "2026-11-01",
        "value": 240,
    }  # fmt: skip
