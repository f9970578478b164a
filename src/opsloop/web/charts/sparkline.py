"""A sparkline: one metric's daily values as a small area line without axes, with a tooltip per
day, for KPI cards."""

from __future__ import annotations

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"
from collections.abc import Callable, Sequence
from datetime import date

import altair as alt

from opsloop.web.charts.spec import Chart, translator
from opsloop.web.charts.theme import ACCENT, vega_lite_config
from opsloop.web.i18n import N_, format_day

HEIGHT = 44
MSG_DAY = N_("Day")
MSG_VALUE = N_("Value")


def sparkline(
    days: Sequence[date],
    values: Sequence[float | None],
    language: str,
    title: str,
    text: Callable[[float | None], str],
) -> Chart:
    """`text` writes a value as the card does (count, share or money)."""
    t = translator(language)
    rows = [
        {"i": i, "day": format_day(d, language), "value": v, "text": text(v)}
        for i, (d, v) in enumerate(zip(days, values, strict=True))
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("i:Q", axis=None, scale=alt.Scale(nice=False, padding=2)),
        y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False, padding=4)),
    )
    area = base.mark_area(
        line={"color": ACCENT, "strokeWidth": 1.5}, color=ACCENT, fillOpacity=0.12
    )
    points = base.mark_point(size=60, opacity=0, filled=True, color=ACCENT).encode(
        tooltip=[alt.Tooltip("day:N", title=t(MSG_DAY)), alt.Tooltip("text:N", title=t(MSG_VALUE))]
    )
    spec = (
        alt.layer(area, points)
        .properties(width="container", height=HEIGHT, description=title)
        .configure(**{**vega_lite_config(language), "padding": 0, "background": "transparent"})
        .configure_view(stroke=None)
        .to_dict()
    )
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    drawn = sum(1 for v in values if v is not None)
    return Chart("vega-lite", spec, title, HEIGHT, drawn)
