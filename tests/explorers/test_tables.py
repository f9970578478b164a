"""Result tables: each answer's rows as typed columns, shown per language and exported with the
same values; "view as API" lines that a shell gives back as the exact body."""

from __future__ import annotations

import json
import shlex

from opsloop.explorers.apiview import api_view
from opsloop.explorers.tables import (
    lifecycle_table,
    paths_table,
    result_table,
    retention_table,
    trends_table,
)
from tests.web.charts.test_builders import LIFECYCLE, RETENTION, TRENDS
from tests.web.charts.test_sankey import ANSWER as PATHS


def test_trends_table_has_a_row_per_line_and_a_column_per_bucket() -> None:
    table = trends_table(TRENDS, "zh-CN", ["支付 · 总次数"])
    assert [c.header for c in table.columns] == ["指标", "合计", "11月1日", "11月2日"]
    assert [c.kind for c in table.columns] == ["text", "integer", "integer", "integer"]
    assert table.rows == [("iOS", 12003, 12000, 3), ("（无）", 5, 0, 5), ("其他", 2, 1, 1)]
    assert table.cell(12003, table.columns[1], "en") == "12,003"
    exported = table.export("t", "趋势", "Asia/Shanghai")
    assert [c.kind for c in exported.columns] == ["text", "integer", "integer", "integer"]
    assert exported.rows == table.rows


def test_retention_table_keeps_unfinished_periods_empty() -> None:
    table = retention_table(RETENTION, "en")
    assert [c.header for c in table.columns] == ["Cohort", "Persons", "Week 0", "Week 1", "Week 2"]
    assert table.rows == [("Week of Nov 2", 40, 1.0, 0.25, None)]
    assert [table.cell(v, c, "en") for v, c in zip(table.rows[0], table.columns, strict=True)] == [
        "Week of Nov 2",
        "40",
        "100.0%",
        "25.0%",
        "–",
    ]


def test_lifecycle_and_paths_tables() -> None:
    assert lifecycle_table(LIFECYCLE, "en").rows == [("Oct 2026", 5, 0), ("Nov 2026", 7, -3)]
    assert paths_table(PATHS, "en").rows == [
        (1, "app_open", "view_item", 60),
        (1, "app_open", "sign_up", 30),
        (2, "view_item", "pay", 40),
        (2, "sign_up", "view_item", 20),
        (2, "sign_up", "pay", 5),
    ]
    assert result_table(PATHS, "en").rows == paths_table(PATHS, "en").rows
    # A link's two ends are events, not the date range's "from" and "to".
    headers = {
        lang: [c.header for c in paths_table(PATHS, lang).columns] for lang in ("en", "zh-CN")
    }
    assert headers["en"][1:3] == ["From event", "To event"]
    assert headers["zh-CN"][1:3] == ["来源事件", "去向事件"]


def test_api_lines_give_the_body_back_through_a_shell() -> None:
    body = {"kind": "trends", "series": [{"event": "it's", "math": "total"}], "breakdown": "渠道"}
    view = api_view(body, "http://127.0.0.1:8000/", "my shop")
    assert json.loads(view.body) == body
    cli = shlex.split(view.cli)
    assert cli[:5] == ["opsloop", "query", "trends", "--workspace", "my shop"]
    assert json.loads(cli[cli.index("--body") + 1]) == body
    curl = shlex.split(view.curl.replace("\\\n", " "))
    assert curl[3] == "http://127.0.0.1:8000/api/v1/query"
    assert json.loads(curl[curl.index("-d") + 1]) == body
