"""RFM layering as a bar per segment (the eight of metrics.md, in its order): how many persons
each holds and their share; the 重要 (important) segments in a deeper colour."""

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

import altair as alt

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, translator, vega_lite
from opsloop.web.charts.theme import MUTED
from opsloop.web.i18n import N_

MSG_TITLE = N_("RFM segments")
MSG_SEGMENT = N_("Segment")
MSG_PERSONS = N_("Persons")
MSG_SHARE = N_("Share")
IMPORTANT = "#2357d9"
GENERAL = "#9db6f2"
BAR_HEIGHT = 30


def segment_name(item: dict[str, Any], language: str) -> str:
    """The segment's name in the reader's language (the engine answers both)."""
    if language == "zh-CN":
        return str(item["segment"])
    return str(item.get("segment_en") or item["segment"]).capitalize()


def rfm_rows(answer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    summary = list(answer.get("summary", []))
    total = sum(int(s["users"]) for s in summary)
    return [
        {
            "segment": segment_name(s, language),
            "users": int(s["users"]),
            "users_text": formatting.number(int(s["users"]), language),
            "share_text": formatting.percent(int(s["users"]) / total if total else None, language),
            "important": str(s["segment"]).startswith("重要"),
            "label": (
                f"{formatting.number(int(s['users']), language)} · "
                f"{formatting.percent(int(s['users']) / total if total else None, language)}"
            ),
        }
        for s in summary
    ]


def rfm_chart(answer: dict[str, Any], language: str) -> Chart:
    rows = rfm_rows(answer, language)
    t = translator(language)
    order = [r["segment"] for r in rows]
    widest = max((r["users"] for r in rows), default=0)
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("segment:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
        x=alt.X(
            "users:Q", title=None, axis=None, scale=alt.Scale(domain=[0, max(1, widest) * 1.3])
        ),
        tooltip=[
            alt.Tooltip("segment:N", title=t(MSG_SEGMENT)),
            alt.Tooltip("users_text:N", title=t(MSG_PERSONS)),
            alt.Tooltip("share_text:N", title=t(MSG_SHARE)),
        ],
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        color=alt.Color(
            "important:N",
            scale=alt.Scale(domain=[True, False], range=[IMPORTANT, GENERAL]),
            legend=None,
        )
    )
    labels = base.mark_text(align="left", dx=6, fontSize=11, color=MUTED).encode(text="label:N")
    drawn = sum(1 for r in rows if r["users"])
    height = BAR_HEIGHT * max(1, len(rows))
    return vega_lite(alt.layer(bars, labels), language, t(MSG_TITLE), height=height, rows=drawn)
