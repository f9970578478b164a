"""Retention as a cohort heatmap: a row per cohort (with its size), a column per period after
it, each cell the share of the cohort active then; periods not yet complete stay blank."""

# Altair's constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

import altair as alt

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, breakdown_label, explicit_order, translator, vega_lite
from opsloop.web.i18n import N_, translate

MSG_TITLE = N_("Retention")
MSG_COHORT = N_("Cohort")
MSG_PERIOD = N_("Period")
MSG_RETAINED = N_("Retained")
MSG_RATE = N_("Retention rate")
MSG_COHORT_SIZE = N_("%(cohort)s (%(size)s)")
PERIOD_NAMES = {"day": N_("Day %(n)s"), "week": N_("Week %(n)s"), "month": N_("Month %(n)s")}
ROW_HEIGHT = 26
MAX_ROWS = 60
HIGH_RATE = 0.55  # cells darker than this get white text


def period_name(period: str, n: int, language: str) -> str:
    return translate(language, PERIOD_NAMES.get(period, PERIOD_NAMES["day"])) % {"n": n}


def cohort_name(result: dict[str, Any], period: str, language: str, breakdown: bool) -> str:
    cohort = formatting.bucket(str(result["cohort_start"]), period, language)
    if breakdown:
        cohort = f"{breakdown_label(result.get('breakdown_value'), language)} · {cohort}"
    size = formatting.number(result["size"], language)
    return translate(language, MSG_COHORT_SIZE) % {"cohort": cohort, "size": size}


def retention_rows(answer: dict[str, Any], language: str) -> list[dict[str, Any]]:
    period = str(answer.get("period", "day"))
    breakdown = any(r.get("breakdown_value") is not None for r in answer.get("results", []))
    rows: list[dict[str, Any]] = []
    cohorts = [r for r in answer.get("results", []) if r["size"]]  # empty cohorts draw nothing
    for result in cohorts[:MAX_ROWS]:
        name = cohort_name(result, period, language, breakdown)
        for n, (value, rate) in enumerate(zip(result["values"], result["rates"], strict=True)):
            if value is None:
                continue  # the period has not ended yet
            rows.append(
                {
                    "cohort": name,
                    "period": period_name(period, n, language),
                    "retained": value,
                    "retained_text": formatting.number(value, language),
                    "rate": rate,
                    "rate_text": formatting.percent(rate, language),
                }
            )
    return rows


def retention_chart(answer: dict[str, Any], language: str) -> Chart:
    rows = retention_rows(answer, language)
    t = translator(language)
    cohorts = explicit_order([r["cohort"] for r in rows])
    periods = [
        period_name(str(answer.get("period", "day")), n, language)
        for n in range(int(answer.get("periods", 0)) + 1)
    ]
    x = alt.X("period:O", sort=periods, title=None, axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("cohort:O", sort=cohorts, title=None, axis=alt.Axis(labelLimit=240))
    tooltip = [
        alt.Tooltip("cohort:N", title=t(MSG_COHORT)),
        alt.Tooltip("period:N", title=t(MSG_PERIOD)),
        alt.Tooltip("retained_text:N", title=t(MSG_RETAINED)),
        alt.Tooltip("rate_text:N", title=t(MSG_RATE)),
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(x=x, y=y, tooltip=tooltip)
    cells = base.mark_rect(stroke="#ffffff", strokeWidth=2).encode(
        color=alt.Color(
            "rate:Q",
            scale=alt.Scale(domain=[0, 1], range=["#eef3fd", "#2357d9"]),
            legend=None,
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="rate_text:N",
        color=alt.condition(
            f"datum.rate > {HIGH_RATE}", alt.value("#ffffff"), alt.value("#1d2433")
        ),
    )
    height = max(ROW_HEIGHT * 2, ROW_HEIGHT * len(cohorts))
    return vega_lite(alt.layer(cells, text), language, t(MSG_TITLE), height=height, rows=len(rows))
