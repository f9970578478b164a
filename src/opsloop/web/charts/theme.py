"""The look every chart shares: the console's fonts (a CJK stack first for Chinese), its colours,
quiet axes, and number labels in the reader's language (万 / 亿 in Chinese, K / M / B in English).

The same config is read by vega-embed in the browser and by vl-convert on the server, so the
expressions here use only Vega's own expression functions (no custom ones to register).
"""

from __future__ import annotations

from typing import Any

# The console's colours (console.css .s0-.s8), then more for long breakdowns.
PALETTE = (
    "#2357d9",
    "#12b76a",
    "#f79009",
    "#7a5af8",
    "#ee46bc",
    "#06aed4",
    "#a15c07",
    "#f04438",
    "#98a2b3",
    "#3e4784",
    "#66c61c",
    "#dd2590",
)
TEXT = "#1d2433"
MUTED = "#667085"
GRID = "#eef1f6"
LINE = "#e3e8f0"
ACCENT = "#2357d9"
# Chinese text is drawn with a CJK face: browsers pick the first installed family; vl-convert
# (server rendering) finds Noto Sans CJK on Debian.
FONT_CJK = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC",'
    ' "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif'
)
FONT_LATIN = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,'
    ' "Noto Sans CJK SC", sans-serif'
)
WIDTH = 880  # the width charts are drawn at where no container gives one (server rendering)
HEIGHT = 280


def font_for(language: str) -> str:
    return FONT_CJK if language == "zh-CN" else FONT_LATIN


# (threshold, divisor, suffix) of compact numbers, largest first.
COMPACT_STEPS = {
    "zh-CN": (("1e8", "1e8", "亿"), ("1e4", "1e4", "万")),
    "en": (("1e9", "1e9", "B"), ("1e6", "1e6", "M"), ("1e4", "1e3", "K")),
}


def compact_expr(value: str, language: str) -> str:
    """A Vega expression writing the number `value` the way formatting.compact does: exact with
    separators below 10,000, then 1.2万 / 3亿 or 12K / 1.2M / 3B (up to four significant digits)."""
    expr = f"format({value}, ',.4~r')"
    for threshold, divisor, suffix in reversed(COMPACT_STEPS[language]):
        scaled = f"format({value} / {divisor}, '.4~r') + '{suffix}'"
        expr = f"(abs({value}) >= {threshold} ? {scaled} : {expr})"
    return expr


def number_locale(language: str) -> dict[str, Any]:
    """d3-format's locale: the separators both languages share, and the currency (CNY)."""
    currency = ["¥", ""] if language == "zh-CN" else ["CN¥", ""]
    return {"decimal": ".", "thousands": ",", "grouping": [3], "currency": currency}


def vega_lite_config(language: str) -> dict[str, Any]:
    font = font_for(language)
    return {
        "font": font,
        "background": "#ffffff",
        "padding": 8,
        "locale": {"number": number_locale(language)},
        "view": {"stroke": None},
        "range": {"category": list(PALETTE)},
        "axis": {
            "labelColor": MUTED,
            "titleColor": MUTED,
            "labelFontSize": 11,
            "titleFontSize": 11,
            "titleFontWeight": "normal",
            "gridColor": GRID,
            "domainColor": LINE,
            "tickColor": LINE,
            "labelFont": font,
            "titleFont": font,
        },
        "axisX": {
            "labelAngle": 0,
            "labelOverlap": "parity",
            "labelSeparation": 12,
            "labelPadding": 6,
        },
        "legend": {
            "orient": "bottom",
            "labelFontSize": 12,
            "titleFontSize": 11,
            "titleColor": MUTED,
            "titleFontWeight": "normal",
            "labelColor": TEXT,
            "symbolType": "circle",
            "labelFont": font,
            "titleFont": font,
            "labelLimit": 220,
            "columns": 0,
        },
        "title": {
            "font": font,
            "color": TEXT,
            "fontSize": 14,
            "fontWeight": 600,
            "anchor": "start",
        },
        "text": {"font": font},
        "line": {"strokeWidth": 2},
        "point": {"size": 36, "filled": True},
        "bar": {"cornerRadiusEnd": 2},
    }


def quantity_axis(
    language: str, title: str | None = None, *, percent: bool = False, integer: bool = False
) -> dict[str, Any]:
    """A value axis: compact numbers (or whole percentages), a few gridlines, no domain line;
    `integer` keeps counts from getting ticks at 0.5."""
    axis: dict[str, Any] = {"title": title, "tickCount": 5, "domain": False, "ticks": False}
    if integer:
        axis["tickMinStep"] = 1
    if percent:
        axis["format"] = ".0%"
    else:
        axis["labelExpr"] = compact_expr("datum.value", language)
    return axis


def color_of(index: int) -> str:
    return PALETTE[index % len(PALETTE)]
