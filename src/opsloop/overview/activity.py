"""Recent activity in a workspace, newest first: bulk imports, event types seen for the first
time, insights and dashboards saved (shared ones, and the reader's own), member changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opsloop.audit import AuditFilter, list_entries
from opsloop.events.store import EventStore
from opsloop.importer.service import recent_runs
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef

WINDOW_DAYS = 30
MAX_ITEMS = 15
AUDITED = ("member.", "insight.created", "dashboard.created")


@dataclass(frozen=True, slots=True)
class ActivityItem:
    at: datetime
    kind: str  # import | new_event | insight | dashboard | member
    actor: str | None
    subject: str  # what it is about: a file, an event name, a name, an email
    detail: dict[str, Any]
    link: str | None = None


def first_seen_events(
    store: EventStore, workspace_id: int, since: datetime
) -> list[tuple[str, datetime]]:
    """Event names whose first event arrived at or after `since`, with that first arrival."""
    cur = store.cursor()
    try:
        rows = cur.execute(
            "SELECT event, min(received_at) AS first FROM events WHERE workspace_id = ?"
            " GROUP BY event HAVING min(received_at) >= ? ORDER BY first DESC LIMIT ?",
            [workspace_id, since, MAX_ITEMS],
        ).fetchall()
    finally:
        cur.close()
    return [(str(name), first) for name, first in rows]


def _imports(state: AppState, ws: WorkspaceRef, since: datetime) -> list[ActivityItem]:
    items = []
    for run in recent_runs(state.db, ws.id, MAX_ITEMS):
        at = run.finished_at or run.created_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if at >= since:
            detail = {"accepted": run.accepted, "quarantined": run.quarantined, "read": run.read}
            items.append(ActivityItem(at, "import", None, run.source, detail))
    return items


def _audited(
    state: AppState, ws: WorkspaceRef, user_id: int, since: datetime
) -> list[ActivityItem]:
    items = []
    with state.db.session() as s:
        for prefix in AUDITED:
            entries, _ = list_entries(
                s, ws.id, AuditFilter(action=prefix, after=since), limit=MAX_ITEMS
            )
            for e in entries:
                after = e.after or {}
                before = e.before or {}
                kind = e.action.split(".")[0]
                if kind == "insight" and not (after.get("shared") or e.actor_user_id == user_id):
                    continue  # a private insight is its owner's business
                if kind == "dashboard" and not (after.get("shared") or e.actor_user_id == user_id):
                    continue
                subject = str(after.get("name") or after.get("email") or before.get("email") or "")
                link = f"/{kind}s/{e.entity_id}" if kind in ("insight", "dashboard") else None
                detail = {"action": e.action, "role": after.get("role"), "was": before.get("role")}
                items.append(ActivityItem(e.at, kind, e.actor, subject, detail, link))
    return items


def recent_activity(state: AppState, ws: WorkspaceRef, user_id: int) -> list[ActivityItem]:
    since = datetime.now(UTC) - timedelta(days=WINDOW_DAYS)
    items = _imports(state, ws, since) + _audited(state, ws, user_id, since)
    items += [
        ActivityItem(first, "new_event", None, name, {}, f"/events?event={name}")
        for name, first in first_seen_events(state.store, ws.id, since)
    ]
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:MAX_ITEMS]
