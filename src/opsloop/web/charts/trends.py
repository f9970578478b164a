"""Trends as lines (or stacked bars) over time: one line per series and breakdown value, the
previous period dashed when the query compares."""

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any, Literal

import altair as alt

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, breakdown_label, explicit_order, translator, vega_lite
from opsloop.web.charts.theme import quantity_axis
from opsloop.web.i18n import N_, translate

Display = Literal["line", "bar"]
MAX_POINTS_WITH_DOTS = 45
MSG_TITLE = N_("Trends")
MSG_DATE = N_("Date")
MSG_SERIES = N_("Series")
MSG_VALUE = N_("Value")
MSG_PREVIOUS = N_("%(series)s (previous period)")


def trend_series_name(
    result: dict[str, Any],
    language: str,
    names: list[str] | None,
    *,
    multiple: bool,
    breakdown: bool,
) -> str:
    """The legend name of one result line: the series' name, its breakdown value, or both (when
    several series are broken down). A previous period's line has its current line's name."""
    index = int(result.get("series", 0))
    series = names[index] if names and index < len(names) else str(result.get("label", ""))
    if not breakdown:
        return series
    value = breakdown_label(result.get("breakdown_value"), language)
    return f"{series} · {value}" if multiple else value


def trend_rows(
    answer: dict[str, Any], language: str, names: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per (line, bucket): the bucket as shown, the value and its text."""
    interval = str(answer.get("interval", "day"))
    current = list(answer.get("results", []))
    previous = list(answer.get("previous", []))
    multiple = len({r.get("series", 0) for r in current}) > 1
    breakdown = bool(answer.get("breakdown")) or any(
        r.get("breakdown_value") is not None for r in current
    )
    rows: list[dict[str, Any]] = []
    for result in [*current, *previous]:
        name = trend_series_name(result, language, names, multiple=multiple, breakdown=breakdown)
        line = (
            translate(language, MSG_PREVIOUS) % {"series": name} if result.get("compare") else name
        )
        # A previous period's line is drawn against the current period's buckets.
        dates = current[0]["dates"] if result.get("compare") and current else result["dates"]
        own = result["dates"]
        for i, (bucket, value) in enumerate(zip(dates, result["values"], strict=False)):
            rows.append(
                {
                    "i": i,
                    "x": formatting.bucket(bucket, interval, language),
                    "when": formatting.bucket(own[i], interval, language),
                    "series": name,
                    "line": line,
                    "value": value,
                    "text": formatting.number(value, language),
                    "previous": bool(result.get("compare")),
                }
            )
    return rows


def trends_chart(
    answer: dict[str, Any],
    language: str,
    *,
    display: Display = "line",
    names: list[str] | None = None,
) -> Chart:
    rows = trend_rows(answer, language, names)
    t = translator(language)
    x_order = explicit_order([r["x"] for r in rows if not r["previous"]])
    series_order = explicit_order([r["series"] for r in rows])
    x = alt.X("x:O", sort=x_order, title=None)
    counts = all(float(r["value"]).is_integer() for r in rows if r["value"] is not None)
    y = alt.Y("value:Q", title=None, axis=alt.Axis(**quantity_axis(language, integer=counts)))
    color = alt.Color(
        "series:N",
        sort=series_order,
        title=None,
        legend=alt.Legend() if len(series_order) > 1 else None,
    )
    tooltip = [
        alt.Tooltip("when:N", title=t(MSG_DATE)),
        alt.Tooltip("line:N", title=t(MSG_SERIES)),
        alt.Tooltip("text:N", title=t(MSG_VALUE)),
    ]
    base = alt.Chart(alt.Data(values=rows))
    if display == "bar":
        mark = base.mark_bar().encode(x=x, y=y, color=color, tooltip=tooltip)
        mark = mark.transform_filter("!datum.previous")
    else:
        dots = len(x_order) <= MAX_POINTS_WITH_DOTS
        mark = base.mark_line(point=dots).encode(
            x=x,
            y=y,
            color=color,
            detail="line:N",
            strokeDash=alt.StrokeDash(
                "previous:N",
                legend=None,
                scale=alt.Scale(domain=[False, True], range=[[1, 0], [5, 4]]),
            ),
            tooltip=tooltip,
        )
    points = sum(1 for r in rows if r["value"] is not None)
    return vega_lite(mark, language, t(MSG_TITLE), rows=points)
