"""Running a saved insight: its query rolled to the workspace's latest day (today, or the day of
the newest event when the data ends earlier), through the engine as POST /api/v1/query runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from opsloop.events.activity import latest_day
from opsloop.explorers.explorer import run_body
from opsloop.insights.service import InsightInfo, rolled
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef


def run_insight(
    state: AppState, ws: WorkspaceRef, insight: InsightInfo, last_day: date | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the query that ran, its answer)."""
    query = rolled(insight, last_day or latest_day(state.store, ws.id, ws.timezone))
    return query, run_body(state, ws, query)
