"""The overview's key metrics, daily over 30 days ending on the report day, from the metric
catalog (metrics.md definitions): DAU, new users, paying users, paid conversion, GMV and AOV.

The report day is the latest complete day: yesterday while data arrives today, else the newest
event's day. Day-over-day compares it with the day before, week-over-week with the same weekday
a week earlier; a change is (current − previous) ÷ |previous|, none when previous is 0 or unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from opsloop.events.activity import local_today, newest_day
from opsloop.explorers.explorer import run_body
from opsloop.web.i18n import N_
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef

DAYS = 30
Format = Literal["count", "percent", "money"]


@dataclass(frozen=True, slots=True)
class KpiDef:
    key: str  # the catalog metric
    name: str  # message id
    format: Format
    link: str  # the explorer that shows it in detail


KPIS = (
    KpiDef("dau", N_("Daily active users"), "count", "/analysis/trends?se=%24any&sm=unique_users"),
    KpiDef("new_users", N_("New users"), "count", "/analysis/lifecycle"),
    KpiDef("paying_users", N_("Paying users"), "count", "/analysis/trends?se=pay&sm=unique_users"),
    KpiDef("paid_conversion", N_("Paid conversion"), "percent", "/analysis/funnel"),
    KpiDef("gmv", N_("GMV"), "money", "/analysis/trends?se=pay&sm=sum&sp=amount"),
    KpiDef("aov", N_("Average order value"), "money", "/analysis/rfm"),
)


@dataclass(frozen=True, slots=True)
class Kpi:
    definition: KpiDef
    days: tuple[date, ...]
    values: tuple[float | None, ...]  # one per day, the report day last

    @property
    def value(self) -> float | None:
        return self.values[-1] if self.values else None

    def change_from(self, days_back: int) -> float | None:
        if len(self.values) <= days_back:
            return None
        return relative_change(self.values[-1], self.values[-1 - days_back])

    @property
    def day_over_day(self) -> float | None:
        return self.change_from(1)

    @property
    def week_over_week(self) -> float | None:
        return self.change_from(7)


def relative_change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def report_day(state: AppState, ws: WorkspaceRef) -> date:
    """The latest complete day: yesterday when events arrive today, else the newest event's."""
    today = local_today(ws.timezone)
    newest = newest_day(state.store, ws.id, ws.timezone)
    if newest is None or newest >= today:
        return today - timedelta(days=1)
    return newest


def metrics_answer(state: AppState, ws: WorkspaceRef, first: date, last: date) -> dict[str, Any]:
    """The catalog metrics' daily values, through POST /api/v1/query's path (and its cache)."""
    body = {
        "kind": "metrics",
        "metrics": [k.key for k in KPIS],
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "interval": "day",
    }
    return run_body(state, ws, body)


def key_metrics(state: AppState, ws: WorkspaceRef, last: date | None = None) -> list[Kpi]:
    last = last or report_day(state, ws)
    first = last - timedelta(days=DAYS - 1)
    answer = metrics_answer(state, ws, first, last)
    lines = {r["metric"]: r for r in answer["results"] if r.get("breakdown_value") is None}
    days = tuple(first + timedelta(days=i) for i in range(DAYS))
    return [
        Kpi(k, days, tuple(lines[k.key]["values"]) if k.key in lines else (None,) * DAYS)
        for k in KPIS
    ]
