"""The server draws the very spec the browser draws, with vl-convert: SVG with the data's labels
(Chinese text in a CJK font), and PNG."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from opsloop.web.charts import render, render_png, render_svg, sankey_chart, trends_chart
from opsloop.web.charts.rfm import rfm_chart
from tests.web.charts.test_sankey import ANSWER as PATHS

TRENDS: dict[str, Any] = {
    "kind": "trends",
    "interval": "day",
    "breakdown": "channel",
    "results": [
        {
            "series": 0,
            "label": "DAU",
            "breakdown_value": "小红书",
            "dates": ["2026-11-01", "2026-11-02", "2026-11-03"],
            "values": [12000, 25000, 18000],
        },
        {
            "series": 0,
            "label": "DAU",
            "breakdown_value": "应用商店",
            "dates": ["2026-11-01", "2026-11-02", "2026-11-03"],
            "values": [3000, 4000, 5000],
        },
    ],
}


def _texts(svg: str) -> list[str]:
    return [unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_trends_svg_has_the_days_the_breakdown_and_wan_on_the_axis() -> None:
    svg = render_svg(trends_chart(TRENDS, "zh-CN"))
    assert svg.startswith("<svg")
    texts = _texts(svg)
    assert {"11月1日", "11月2日", "11月3日", "小红书", "应用商店"} <= set(texts)
    assert "2万" in texts  # the value axis counts in 万
    assert "Noto Sans CJK SC" in svg or "PingFang SC" in svg


def test_english_axis_uses_thousands() -> None:
    texts = _texts(render_svg(trends_chart(TRENDS, "en")))
    assert {"Nov 1", "Nov 2", "Nov 3", "20K"} <= set(texts)


def test_rfm_svg_names_the_segments_in_chinese() -> None:
    answer = {
        "kind": "rfm",
        "summary": [
            {"segment": "重要价值客户", "segment_en": "important value", "users": 30},
            {"segment": "一般挽留客户", "segment_en": "general retain", "users": 10},
        ],
    }
    texts = _texts(render_svg(rfm_chart(answer, "zh-CN")))
    assert {"重要价值客户", "一般挽留客户", "30 · 75.0%", "10 · 25.0%"} <= set(texts)


def test_sankey_renders_from_its_vega_spec() -> None:
    texts = _texts(render_svg(sankey_chart(PATHS, "en")))
    assert {"app_open (100)", "pay (45)", "Step 1", "Step 3"} <= set(texts)


def test_png_is_a_png_at_twice_the_width() -> None:
    png = render_png(trends_chart(TRENDS, "zh-CN"), width=400)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert 800 <= width <= 840  # 400 px (plus padding) at scale 2
    body, media_type = render(trends_chart(TRENDS, "en"), "svg")
    assert media_type == "image/svg+xml" and body.startswith(b"<svg")
