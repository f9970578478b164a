"""The console's charts: one builder per query kind's answer (trends, funnel, retention,
lifecycle, RFM, paths), each giving a `Chart` (a Vega-Lite or Vega spec) that pages embed and
static/charts.js draws, and that `render` turns into SVG/PNG on the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsloop.web.charts.funnel import funnel_chart
from opsloop.web.charts.lifecycle import lifecycle_chart
from opsloop.web.charts.render import render, render_png, render_svg
from opsloop.web.charts.retention import retention_chart
from opsloop.web.charts.rfm import rfm_chart
from opsloop.web.charts.sankey import sankey_chart
from opsloop.web.charts.spec import Chart
from opsloop.web.charts.trends import trends_chart

# Query kind -> the builder of its answer's default chart.
BUILDERS: dict[str, Callable[[dict[str, Any], str], Chart]] = {
    "trends": trends_chart,
    "funnel": funnel_chart,
    "retention": retention_chart,
    "lifecycle": lifecycle_chart,
    "rfm": rfm_chart,
    "paths": sankey_chart,
}


def chart_for(answer: dict[str, Any], language: str) -> Chart | None:
    """The default chart of a query's answer (None for kinds drawn as tables only)."""
    builder = BUILDERS.get(str(answer.get("kind")))
    return builder(answer, language) if builder else None


__all__ = [
    "BUILDERS",
    "Chart",
    "chart_for",
    "funnel_chart",
    "lifecycle_chart",
    "render",
    "render_png",
    "render_svg",
    "retention_chart",
    "rfm_chart",
    "sankey_chart",
    "trends_chart",
]
