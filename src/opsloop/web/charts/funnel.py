"""Funnels as bars per step: the persons reaching each step, the conversion from the first step
written on the bar, and side-by-side bars per breakdown value."""

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

import altair as alt

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, breakdown_label, explicit_order, translator, vega_lite
from opsloop.web.charts.theme import MUTED, quantity_axis
from opsloop.web.i18n import N_, translate

MSG_TITLE = N_("Funnel")
MSG_STEP = N_("Step")
MSG_PERSONS = N_("Persons")
MSG_FROM_START = N_("Conversion from first step")
MSG_FROM_PREVIOUS = N_("Conversion from previous step")
MSG_MEDIAN = N_("Median time to convert")
MSG_BREAKDOWN = N_("Breakdown")
MSG_STEP_LABEL = N_("%(step)s. %(event)s")
MAX_BREAKDOWN_BARS = 12


def step_name(step: dict[str, Any], language: str) -> str:
    return translate(language, MSG_STEP_LABEL) % {
        "step": step["step"],
        "event": step.get("label") or step["event"],
    }


def funnel_rows(answer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """One row per (breakdown value, step), with the counts and rates as numbers and as text."""
    rows: list[dict[str, Any]] = []
    for result in answer.get("results", [])[:MAX_BREAKDOWN_BARS]:
        group = breakdown_label(result.get("breakdown_value"), language)
        for step in result["steps"]:
            rows.append(
                {
                    "step": step_name(step, language),
                    "group": group,
                    "count": step["count"],
                    "count_text": formatting.number(step["count"], language),
                    "from_start": step["conversion_from_start"],
                    "from_start_text": formatting.percent(step["conversion_from_start"], language),
                    "from_previous_text": formatting.percent(
                        step.get("conversion_from_previous"), language
                    ),
                    "median_text": formatting.duration(
                        step.get("median_seconds_to_convert"), language
                    ),
                }
            )
    return rows


def funnel_chart(answer: dict[str, Any], language: str) -> Chart:
    rows = funnel_rows(answer, language)
    t = translator(language)
    grouped = bool(answer.get("breakdown"))
    steps = explicit_order([r["step"] for r in rows])
    groups = explicit_order([r["group"] for r in rows])
    tooltip = [
        alt.Tooltip("step:N", title=t(MSG_STEP)),
        *([alt.Tooltip("group:N", title=t(MSG_BREAKDOWN))] if grouped else []),
        alt.Tooltip("count_text:N", title=t(MSG_PERSONS)),
        alt.Tooltip("from_start_text:N", title=t(MSG_FROM_START)),
        alt.Tooltip("from_previous_text:N", title=t(MSG_FROM_PREVIOUS)),
        alt.Tooltip("median_text:N", title=t(MSG_MEDIAN)),
    ]
    x = alt.X("step:N", sort=steps, title=None, axis=alt.Axis(labelLimit=160))
    y = alt.Y("count:Q", title=None, axis=alt.Axis(**quantity_axis(language, integer=True)))
    base = alt.Chart(alt.Data(values=rows)).encode(x=x, tooltip=tooltip)
    if grouped:
        color = alt.Color("group:N", sort=groups, title=None)
        offset = alt.XOffset("group:N", sort=groups)
        bars = base.mark_bar().encode(y=y, color=color, xOffset=offset)
        labels = base.mark_text(dy=-6, fontSize=10, color=MUTED).encode(
            y=y, xOffset=offset, text="from_start_text:N"
        )
    else:
        bars = base.mark_bar(color="#2357d9", width={"band": 0.6}).encode(y=y)
        labels = base.mark_text(dy=-8, fontSize=12, fontWeight=600).encode(
            y=y, text="from_start_text:N"
        )
    layered = alt.layer(bars, labels) if len(groups) <= 4 or not grouped else bars
    reached = sum(1 for r in rows if r["count"])
    return vega_lite(layered, language, t(MSG_TITLE), rows=reached)
