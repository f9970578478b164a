"""Each query kind's chart carries exactly the answer's numbers, named in the reader's language:
the rows of every spec compared with rows built by hand from the answer."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.web.charts import chart_for
from opsloop.web.charts.funnel import funnel_rows
from opsloop.web.charts.lifecycle import lifecycle_rows
from opsloop.web.charts.retention import retention_rows
from opsloop.web.charts.rfm import rfm_rows
from opsloop.web.charts.trends import trend_rows

TRENDS = {
    "kind": "trends",
    "interval": "day",
    "breakdown": "platform",
    "results": [
        {
            "series": 0,
            "label": "pay",
            "breakdown_value": "iOS",
            "dates": ["2026-11-01", "2026-11-02"],
            "values": [12000, 3],
            "total": 12003,
        },
        {
            "series": 0,
            "label": "pay",
            "breakdown_value": None,
            "dates": ["2026-11-01", "2026-11-02"],
            "values": [0, 5],
            "total": 5,
        },
        {
            "series": 0,
            "label": "pay",
            "breakdown_value": "$other",
            "dates": ["2026-11-01", "2026-11-02"],
            "values": [1, 1],
            "total": 2,
        },
    ],
}
FUNNEL = {
    "kind": "funnel",
    "breakdown": None,
    "results": [
        {
            "breakdown_value": None,
            "steps": [
                {
                    "step": 1,
                    "event": "view_item",
                    "label": "view_item",
                    "count": 200,
                    "conversion_from_start": 1.0,
                    "conversion_from_previous": 1.0,
                    "median_seconds_to_convert": None,
                },
                {
                    "step": 2,
                    "event": "pay",
                    "label": "下单",
                    "count": 50,
                    "conversion_from_start": 0.25,
                    "conversion_from_previous": 0.25,
                    "median_seconds_to_convert": 3725.0,
                },
            ],
        },
    ],
}
RETENTION = {
    "kind": "retention",
    "period": "week",
    "periods": 2,
    "results": [
        {
            "breakdown_value": None,
            "cohort": "2026-11-02",
            "cohort_start": "2026-11-02",
            "size": 40,
            "values": [40, 10, None],
            "rates": [1.0, 0.25, None],
        },
    ],
}
LIFECYCLE = {
    "kind": "lifecycle",
    "interval": "month",
    "results": [
        {"status": "new", "dates": ["2026-10", "2026-11"], "values": [5, 7]},
        {"status": "dormant", "dates": ["2026-10", "2026-11"], "values": [0, -3]},
    ],
}
RFM = {
    "kind": "rfm",
    "summary": [
        {"segment": "重要价值客户", "segment_en": "important value", "users": 3},
        {"segment": "一般挽留客户", "segment_en": "general retain", "users": 1},
    ],
}


def _spec_rows(answer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    chart = chart_for(answer, language)
    assert chart is not None and chart.grammar == "vega-lite"
    data = chart.spec.get("data") or chart.spec["layer"][0].get("data")
    values: list[dict[str, Any]] = data["values"]
    return values


def test_trend_rows_name_breakdown_values_and_format_numbers() -> None:
    rows = trend_rows(TRENDS, "zh-CN")
    assert [(r["x"], r["series"], r["value"], r["text"]) for r in rows] == [
        ("11月1日", "iOS", 12000, "12,000"),
        ("11月2日", "iOS", 3, "3"),
        ("11月1日", "（无）", 0, "0"),
        ("11月2日", "（无）", 5, "5"),
        ("11月1日", "其他", 1, "1"),
        ("11月2日", "其他", 1, "1"),
    ]
    assert _spec_rows(TRENDS, "zh-CN") == rows
    english = trend_rows(TRENDS, "en")
    assert [(r["x"], r["series"]) for r in english[::2]] == [
        ("Nov 1", "iOS"),
        ("Nov 1", "(none)"),
        ("Nov 1", "Other"),
    ]


def test_trend_rows_draw_the_previous_period_on_the_current_buckets() -> None:
    answer = {
        "kind": "trends",
        "interval": "day",
        "results": [
            {
                "series": 0,
                "label": "DAU",
                "breakdown_value": None,
                "dates": ["2026-11-08"],
                "values": [10],
            }
        ],
        "previous": [
            {
                "series": 0,
                "label": "DAU",
                "breakdown_value": None,
                "compare": True,
                "dates": ["2026-11-01"],
                "values": [8],
            }
        ],
    }
    rows = trend_rows(answer, "en")
    assert [
        (r["x"], r["when"], r["series"], r["line"], r["value"], r["previous"]) for r in rows
    ] == [
        ("Nov 8", "Nov 8", "DAU", "DAU", 10, False),
        ("Nov 8", "Nov 1", "DAU", "DAU (previous period)", 8, True),
    ]


def test_funnel_rows_carry_counts_rates_and_times() -> None:
    assert funnel_rows(FUNNEL, "zh-CN") == [
        {
            "step": "1. view_item",
            "group": "（无）",
            "count": 200,
            "count_text": "200",
            "from_start": 1.0,
            "from_start_text": "100.0%",
            "from_previous_text": "100.0%",
            "median_text": "–",
        },
        {
            "step": "2. 下单",
            "group": "（无）",
            "count": 50,
            "count_text": "50",
            "from_start": 0.25,
            "from_start_text": "25.0%",
            "from_previous_text": "25.0%",
            "median_text": "1小时2分钟",
        },
    ]
    assert [r["median_text"] for r in funnel_rows(FUNNEL, "en")] == ["–", "1h 2m"]


def test_retention_rows_leave_unfinished_periods_out() -> None:
    assert retention_rows(RETENTION, "en") == [
        {
            "cohort": "Week of Nov 2 (40)",
            "period": "Week 0",
            "retained": 40,
            "retained_text": "40",
            "rate": 1.0,
            "rate_text": "100.0%",
        },
        {
            "cohort": "Week of Nov 2 (40)",
            "period": "Week 1",
            "retained": 10,
            "retained_text": "10",
            "rate": 0.25,
            "rate_text": "25.0%",
        },
    ]
    assert retention_rows(RETENTION, "zh-CN")[1]["period"] == "第 1 周"


def test_lifecycle_rows_keep_dormant_negative_and_show_it_positive() -> None:
    rows = lifecycle_rows(LIFECYCLE, "zh-CN")
    assert [(r["x"], r["status"], r["value"], r["text"]) for r in rows] == [
        ("2026年10月", "新增", 5, "5"),
        ("2026年11月", "新增", 7, "7"),
        ("2026年10月", "流失", 0, "0"),
        ("2026年11月", "流失", -3, "3"),
    ]


def test_rfm_rows_share_of_all_scored_persons() -> None:
    assert [
        (r["segment"], r["users"], r["share_text"], r["important"]) for r in rfm_rows(RFM, "en")
    ] == [
        ("Important value", 3, "75.0%", True),
        ("General retain", 1, "25.0%", False),
    ]
    assert rfm_rows(RFM, "zh-CN")[0]["segment"] == "重要价值客户"


@pytest.mark.parametrize("answer", [TRENDS, FUNNEL, RETENTION, LIFECYCLE, RFM])
def test_a_chart_is_empty_only_when_nothing_is_drawn(answer: dict[str, Any]) -> None:
    chart = chart_for(answer, "en")
    assert chart is not None and not chart.empty
    hollow = {**answer, "results": [], "summary": []}
    assert chart_for(hollow, "en").empty  # type: ignore[union-attr]


def test_spec_json_cannot_close_its_script_block() -> None:
    answer = {**TRENDS, "results": [{**TRENDS["results"][0], "breakdown_value": "</script><b>"}]}
    chart = chart_for(answer, "en")
    assert chart is not None
    text = chart.json()
    assert "</script>" not in text and "<b>" not in text
    assert "\\u003c/script\\u003e\\u003cb\\u003e" in text


def test_kinds_without_a_chart_have_none() -> None:
    assert chart_for({"kind": "segment", "count": 3, "results": []}, "en") is None
