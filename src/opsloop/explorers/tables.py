"""Each query kind's answer as the table under its chart: typed columns and raw values, shown
formatted in the reader's language and downloaded as CSV or Excel from the same rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from opsloop.web import formatting
from opsloop.web.charts.funnel import step_name
from opsloop.web.charts.lifecycle import STATUS_NAMES, status_name
from opsloop.web.charts.retention import period_name
from opsloop.web.charts.rfm import segment_name
from opsloop.web.charts.spec import breakdown_label, translator
from opsloop.web.charts.trends import trend_series_name
from opsloop.web.export import Column, ColumnKind, ExportTable
from opsloop.web.i18n import N_

CellKind = Literal["text", "integer", "number", "percent", "duration", "money"]
MSG_SERIES = N_("Series")
MSG_BREAKDOWN = N_("Breakdown")
MSG_TOTAL = N_("Total")
MSG_STEP = N_("Step")
MSG_PERSONS = N_("Persons")
MSG_FROM_START = N_("Conversion from first step")
MSG_FROM_PREVIOUS = N_("Conversion from previous step")
MSG_MEDIAN_SECONDS = N_("Median seconds to convert")
MSG_COHORT = N_("Cohort")
MSG_FROM = N_("From event")
MSG_TO = N_("To event")
MSG_PERIOD = N_("Period")
MSG_SEGMENT = N_("Segment")
MSG_SHARE = N_("Share")
MSG_DISTINCT_ID = N_("Distinct ID")
MSG_RECENCY = N_("Days since last order")
MSG_FREQUENCY = N_("Orders")
MSG_MONETARY = N_("Amount")
# Excel/CSV type of each displayed kind (durations export as seconds, money as a number).
EXPORT_KINDS: dict[CellKind, ColumnKind] = {
    "text": "text",
    "integer": "integer",
    "number": "number",
    "percent": "percent",
    "duration": "number",
    "money": "number",
}


@dataclass(frozen=True, slots=True)
class TableColumn:
    header: str
    kind: CellKind = "text"

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass(frozen=True, slots=True)
class ResultTable:
    columns: tuple[TableColumn, ...]
    rows: list[tuple[Any, ...]]
    frozen: int = 1  # leading columns that name the row (kept in view)
    link: str | None = None  # the first column's values link to this prefix + the value

    def cell(self, value: Any, column: TableColumn, language: str) -> str:
        """A value as the page shows it."""
        if value is None:
            return formatting.DASH
        shown: dict[CellKind, Callable[[Any, str], str]] = {
            "integer": formatting.number,
            "number": lambda v, lang: formatting.number(v, lang, 2),
            "percent": formatting.percent,
            "duration": formatting.duration,
            "money": formatting.money,
        }
        return shown[column.kind](value, language) if column.kind in shown else str(value)

    def export(self, name: str, sheet: str, timezone: str) -> ExportTable:
        return ExportTable(
            name,
            tuple(Column(c.header, EXPORT_KINDS[c.kind]) for c in self.columns),
            self.rows,
            timezone=timezone,
            sheet=sheet,
            frozen_columns=self.frozen,
        )


def _value_kind(results: list[dict[str, Any]]) -> CellKind:
    values = [v for r in results for v in r["values"] if v is not None]
    return "integer" if all(float(v).is_integer() for v in values) else "number"


def trends_table(answer: dict[str, Any], language: str, names: list[str] | None) -> ResultTable:
    t = translator(language)
    results = list(answer.get("results", []))
    interval = str(answer.get("interval", "day"))
    breakdown = bool(answer.get("breakdown"))
    multiple = len({r.get("series", 0) for r in results}) > 1
    kind = _value_kind(results)
    dates = results[0]["dates"] if results else []
    columns = (
        TableColumn(t(MSG_SERIES)),
        TableColumn(t(MSG_TOTAL), kind),
        *(TableColumn(formatting.bucket(d, interval, language), kind) for d in dates),
    )
    rows = [
        (
            trend_series_name(r, language, names, multiple=multiple, breakdown=breakdown),
            r.get("total"),
            *r["values"],
        )
        for r in results
    ]
    return ResultTable(columns, rows)


def funnel_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    grouped = bool(answer.get("breakdown"))
    columns = (
        *([TableColumn(t(MSG_BREAKDOWN))] if grouped else []),
        TableColumn(t(MSG_STEP)),
        TableColumn(t(MSG_PERSONS), "integer"),
        TableColumn(t(MSG_FROM_START), "percent"),
        TableColumn(t(MSG_FROM_PREVIOUS), "percent"),
        TableColumn(t(MSG_MEDIAN_SECONDS), "duration"),
    )
    rows = []
    for result in answer.get("results", []):
        group = breakdown_label(result.get("breakdown_value"), language)
        for step in result["steps"]:
            rows.append(
                (
                    *([group] if grouped else []),
                    step_name(step, language),
                    step["count"],
                    step["conversion_from_start"],
                    step.get("conversion_from_previous"),
                    step.get("median_seconds_to_convert"),
                )
            )
    return ResultTable(columns, rows, frozen=2 if grouped else 1)


def retention_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    period = str(answer.get("period", "day"))
    results = list(answer.get("results", []))
    grouped = any(r.get("breakdown_value") is not None for r in results)
    columns = (
        *([TableColumn(t(MSG_BREAKDOWN))] if grouped else []),
        TableColumn(t(MSG_COHORT)),
        TableColumn(t(MSG_PERSONS), "integer"),
        *(
            TableColumn(period_name(period, n, language), "percent")
            for n in range(int(answer.get("periods", 0)) + 1)
        ),
    )
    rows = [
        (
            *([breakdown_label(r.get("breakdown_value"), language)] if grouped else []),
            formatting.bucket(str(r["cohort_start"]), period, language),
            r["size"],
            *r["rates"],
        )
        for r in results
    ]
    return ResultTable(columns, rows, frozen=2 if grouped else 1)


def paths_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    events = {n["name"]: (n["step"], n["event"]) for n in answer.get("nodes", [])}
    columns = (
        TableColumn(t(MSG_STEP), "integer"),
        TableColumn(t(MSG_FROM)),
        TableColumn(t(MSG_TO)),
        TableColumn(t(MSG_PERSONS), "integer"),
    )
    rows = [
        (events[lk["source"]][0], events[lk["source"]][1], events[lk["target"]][1], lk["value"])
        for lk in answer.get("links", [])
    ]
    return ResultTable(columns, rows)


def lifecycle_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    interval = str(answer.get("interval", "day"))
    by_status = {r["status"]: r for r in answer.get("results", [])}
    statuses = [s for s in STATUS_NAMES if s in by_status]
    dates = by_status[statuses[0]]["dates"] if statuses else []
    columns = (
        TableColumn(t(MSG_PERIOD)),
        *(TableColumn(status_name(s, language), "integer") for s in statuses),
    )
    rows = [
        (
            formatting.bucket(d, interval, language),
            *(by_status[s]["values"][i] for s in statuses),
        )
        for i, d in enumerate(dates)
    ]
    return ResultTable(columns, rows)


def rfm_summary_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    summary = list(answer.get("summary", []))
    total = sum(int(s["users"]) for s in summary)
    columns = (
        TableColumn(t(MSG_SEGMENT)),
        TableColumn(t(MSG_PERSONS), "integer"),
        TableColumn(t(MSG_SHARE), "percent"),
    )
    rows = [
        (segment_name(s, language), s["users"], s["users"] / total if total else None)
        for s in summary
    ]
    return ResultTable(columns, rows)


def rfm_members_table(answer: dict[str, Any], language: str) -> ResultTable:
    t = translator(language)
    columns = (
        TableColumn(t(MSG_DISTINCT_ID)),
        TableColumn(t(MSG_SEGMENT)),
        TableColumn(t(MSG_RECENCY), "integer"),
        TableColumn(t(MSG_FREQUENCY), "integer"),
        TableColumn(t(MSG_MONETARY), "money"),
        TableColumn("R", "integer"),
        TableColumn("F", "integer"),
        TableColumn("M", "integer"),
    )
    rows = [
        (
            r["distinct_id"],
            segment_name(r, language),
            r["recency_days"],
            r["frequency"],
            r["monetary"],
            r["r_score"],
            r["f_score"],
            r["m_score"],
        )
        for r in answer.get("results", [])
    ]
    return ResultTable(columns, rows, link="/users/")


def result_table(
    answer: dict[str, Any], language: str, names: list[str] | None = None
) -> ResultTable:
    """The table of an answer, by its kind."""
    kind = answer.get("kind")
    if kind == "trends":
        return trends_table(answer, language, names)
    builders: dict[str, Callable[[dict[str, Any], str], ResultTable]] = {
        "funnel": funnel_table,
        "retention": retention_table,
        "paths": paths_table,
        "lifecycle": lifecycle_table,
        "rfm": rfm_summary_table,
    }
    return builders[str(kind)](answer, language)
