"""Event volume as stacked bars per day: the largest event types in their own colours, the rest
as one "other events" layer."""

from __future__ import annotations

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"
from typing import Any

import altair as alt

from opsloop.events.activity import EventVolume
from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, explicit_order, translator, vega_lite
from opsloop.web.charts.theme import PALETTE, quantity_axis
from opsloop.web.i18n import N_, format_day

MAX_SERIES = 8
MSG_TITLE = N_("Events per day")
MSG_OTHER = N_("Other events")
MSG_DAY = N_("Day")
MSG_EVENT = N_("Event")
MSG_EVENTS = N_("Events")
OTHER_COLOR = "#98a2b3"


def volume_rows(volume: EventVolume, language: str) -> list[dict[str, Any]]:
    """One row per (day, layer) with events: the top MAX_SERIES events, then the rest summed."""
    t = translator(language)
    layers = [(s.event, s.counts) for s in volume.series[:MAX_SERIES]]
    rest = volume.series[MAX_SERIES:]
    if rest:
        other = tuple(sum(s.counts[d] for s in rest) for d in range(len(volume.days)))
        layers.append((t(MSG_OTHER), other))
    rows = []
    for order, (name, counts) in enumerate(layers):
        for day, count in zip(volume.days, counts, strict=True):
            if count:
                rows.append(
                    {
                        "day": format_day(day, language),
                        "event": name,
                        "order": order,
                        "count": count,
                        "text": formatting.number(count, language),
                    }
                )
    return rows


def volume_chart(volume: EventVolume, language: str) -> Chart:
    t = translator(language)
    rows = volume_rows(volume, language)
    days = explicit_order([format_day(d, language) for d in volume.days])
    names = explicit_order([r["event"] for r in sorted(rows, key=lambda r: r["order"])])
    colors = [PALETTE[i] if i < MAX_SERIES else OTHER_COLOR for i in range(len(names))]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("day:O", sort=days, title=None),
            y=alt.Y(
                "count:Q",
                stack="zero",
                title=None,
                axis=alt.Axis(**quantity_axis(language, integer=True)),
            ),
            color=alt.Color(
                "event:N", sort=names, scale=alt.Scale(domain=names, range=colors), title=None
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("day:N", title=t(MSG_DAY)),
                alt.Tooltip("event:N", title=t(MSG_EVENT)),
                alt.Tooltip("text:N", title=t(MSG_EVENTS)),
            ],
        )
    )
    return vega_lite(chart, language, t(MSG_TITLE), height=260, rows=len(rows))
