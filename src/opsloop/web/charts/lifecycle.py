"""Lifecycle as stacked bars per period: new, returning and resurrecting persons above zero,
dormant ones below (counted negative, as metrics.md draws them)."""

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

import altair as alt

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, explicit_order, translator, vega_lite
from opsloop.web.charts.theme import quantity_axis
from opsloop.web.i18n import N_, translate

MSG_TITLE = N_("Lifecycle")
MSG_PERIOD = N_("Period")
MSG_STATUS = N_("Status")
MSG_PERSONS = N_("Persons")
STATUS_NAMES = {
    "new": N_("New"),
    "returning": N_("Returning"),
    "resurrecting": N_("Resurrecting"),
    "dormant": N_("Dormant"),
}
STATUS_COLORS = {
    "new": "#12b76a",
    "returning": "#2357d9",
    "resurrecting": "#f79009",
    "dormant": "#f04438",
}


def status_name(status: str, language: str) -> str:
    return translate(language, STATUS_NAMES[status]) if status in STATUS_NAMES else status


def lifecycle_rows(answer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    interval = str(answer.get("interval", "day"))
    rows: list[dict[str, Any]] = []
    for result in answer.get("results", []):
        status = str(result["status"])
        for i, (bucket, value) in enumerate(zip(result["dates"], result["values"], strict=True)):
            rows.append(
                {
                    "i": i,
                    "x": formatting.bucket(bucket, interval, language),
                    "status": status_name(status, language),
                    "order": list(STATUS_NAMES).index(status) if status in STATUS_NAMES else 9,
                    "value": value,
                    "text": formatting.number(abs(value), language),
                }
            )
    return rows


def lifecycle_chart(answer: dict[str, Any], language: str) -> Chart:
    rows = lifecycle_rows(answer, language)
    t = translator(language)
    order = [status_name(s, language) for s in STATUS_NAMES]
    colors = list(STATUS_COLORS.values())
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("x:O", sort=explicit_order([r["x"] for r in rows]), title=None),
            y=alt.Y(
                "value:Q",
                title=None,
                stack="zero",
                axis=alt.Axis(**quantity_axis(language, integer=True)),
            ),
            color=alt.Color(
                "status:N", sort=order, scale=alt.Scale(domain=order, range=colors), title=None
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("x:N", title=t(MSG_PERIOD)),
                alt.Tooltip("status:N", title=t(MSG_STATUS)),
                alt.Tooltip("text:N", title=t(MSG_PERSONS)),
            ],
        )
    )
    drawn = sum(1 for r in rows if r["value"])
    return vega_lite(chart, language, t(MSG_TITLE), rows=drawn)
