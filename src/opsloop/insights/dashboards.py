"""Dashboards: a named grid of saved insights in an order, private or shared. Pinning an insight
to a shared dashboard shares the insight too (everyone who sees the dashboard sees its tiles)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from opsloop.audit import record
from opsloop.errors import InvalidInput, NotFound
from opsloop.insights.access import Viewer, clean_name
from opsloop.insights.models import Dashboard, DashboardTile, Insight
from opsloop.insights.service import InsightInfo, as_utc, info, row_of

MAX_TILES = 60
WIDTHS = (1, 2)


@dataclass(frozen=True, slots=True)
class Tile:
    insight: InsightInfo
    position: int
    width: int

    def to_dict(self) -> dict[str, Any]:
        return {"insight": self.insight.to_dict(), "position": self.position, "width": self.width}


@dataclass(frozen=True, slots=True)
class DashboardInfo:
    id: int
    workspace_id: int
    name: str
    description: str
    shared: bool
    owner_id: int | None
    tiles: tuple[Tile, ...]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "shared": self.shared,
            "owner_id": self.owner_id,
            "tiles": [t.to_dict() for t in self.tiles],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _audited(board: DashboardInfo | None) -> dict[str, Any] | None:
    """What the audit log keeps of a dashboard: its fields and its tiles' insights in order."""
    if board is None:
        return None
    return {
        "name": board.name,
        "description": board.description,
        "shared": board.shared,
        "owner_id": board.owner_id,
        "tiles": [[t.insight.id, t.width] for t in board.tiles],
    }


def _record(
    session: Session,
    action: str,
    before: DashboardInfo | None,
    after: DashboardInfo | None,
) -> None:
    board = after or before
    assert board is not None
    record(
        session,
        action,
        workspace_id=board.workspace_id,
        entity_type="dashboard",
        entity_id=board.id,
        before=_audited(before),
        after=_audited(after),
    )


def _row(session: Session, workspace_id: int, viewer: Viewer, dashboard_id: int) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or row.workspace_id != workspace_id or not viewer.sees(row.owner_id, row.shared):
        raise NotFound(f"no dashboard {dashboard_id}", "dashboard_id")
    return row


def _tiles(session: Session, dashboard_id: int) -> list[DashboardTile]:
    return list(
        session.scalars(
            select(DashboardTile)
            .where(DashboardTile.dashboard_id == dashboard_id)
            .order_by(DashboardTile.position, DashboardTile.id)
        )
    )


def _info(session: Session, row: Dashboard, viewer: Viewer) -> DashboardInfo:
    tiles = []
    for tile in _tiles(session, row.id):
        insight = session.get(Insight, tile.insight_id)
        if insight is not None and viewer.sees(insight.owner_id, insight.shared or row.shared):
            tiles.append(Tile(info(insight), tile.position, tile.width))
    return DashboardInfo(
        row.id,
        row.workspace_id,
        row.name,
        row.description,
        row.shared,
        row.owner_id,
        tuple(tiles),
        as_utc(row.created_at),
        as_utc(row.updated_at),
    )


def create_dashboard(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    name: str,
    *,
    description: str = "",
    shared: bool = False,
) -> DashboardInfo:
    viewer.check_creates()
    row = Dashboard(
        workspace_id=workspace_id,
        name=clean_name(name),
        description=description.strip(),
        shared=shared,
        owner_id=viewer.user_id,
    )
    session.add(row)
    session.flush()
    created = _info(session, row, viewer)
    _record(session, "dashboard.created", None, created)
    return created


def get_dashboard(
    session: Session, workspace_id: int, viewer: Viewer, dashboard_id: int
) -> DashboardInfo:
    return _info(session, _row(session, workspace_id, viewer, dashboard_id), viewer)


def list_dashboards(session: Session, workspace_id: int, viewer: Viewer) -> list[DashboardInfo]:
    stmt = select(Dashboard).where(Dashboard.workspace_id == workspace_id)
    if viewer.user_id is not None:
        stmt = stmt.where(or_(Dashboard.shared.is_(True), Dashboard.owner_id == viewer.user_id))
    rows = session.scalars(stmt.order_by(func.lower(Dashboard.name), Dashboard.id))
    return [_info(session, r, viewer) for r in rows]


def update_dashboard(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    dashboard_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    shared: bool | None = None,
) -> DashboardInfo:
    row = _row(session, workspace_id, viewer, dashboard_id)
    viewer.check_edits(row.owner_id, "dashboard")
    before = _info(session, row, viewer)
    if name is not None:
        row.name = clean_name(name)
    if description is not None:
        row.description = description.strip()
    if shared is not None:
        row.shared = shared
        if shared:
            _share_tiles(session, row.id)
    session.flush()
    return _changed(session, row, viewer, before)


def _changed(
    session: Session, row: Dashboard, viewer: Viewer, before: DashboardInfo
) -> DashboardInfo:
    after = _info(session, row, viewer)
    _record(session, "dashboard.changed", before, after)
    return after


def delete_dashboard(
    session: Session, workspace_id: int, viewer: Viewer, dashboard_id: int
) -> None:
    row = _row(session, workspace_id, viewer, dashboard_id)
    viewer.check_edits(row.owner_id, "dashboard")
    before = _info(session, row, viewer)
    session.delete(row)
    session.flush()
    _record(session, "dashboard.deleted", before, None)


def _share_tiles(session: Session, dashboard_id: int) -> None:
    for tile in _tiles(session, dashboard_id):
        insight = session.get(Insight, tile.insight_id)
        if insight is not None:
            insight.shared = True


def _renumber(tiles: list[DashboardTile]) -> None:
    for position, tile in enumerate(tiles):
        tile.position = position


def pin(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    dashboard_id: int,
    insight_id: int,
    *,
    width: int = 1,
) -> DashboardInfo:
    """Add an insight to the end of a dashboard (pinning it again changes only its width)."""
    row = _row(session, workspace_id, viewer, dashboard_id)
    viewer.check_edits(row.owner_id, "dashboard")
    insight = row_of(session, workspace_id, viewer, insight_id)
    before = _info(session, row, viewer)
    if width not in WIDTHS:
        raise InvalidInput("width is 1 or 2 columns", "width")
    tiles = _tiles(session, row.id)
    existing = next((t for t in tiles if t.insight_id == insight.id), None)
    if existing is not None:
        existing.width = width
    else:
        if len(tiles) >= MAX_TILES:
            raise InvalidInput(f"a dashboard holds at most {MAX_TILES} insights", "insight_id")
        session.add(
            DashboardTile(
                dashboard_id=row.id, insight_id=insight.id, position=len(tiles), width=width
            )
        )
    if row.shared:
        insight.shared = True
    session.flush()
    return _changed(session, row, viewer, before)


def unpin(
    session: Session, workspace_id: int, viewer: Viewer, dashboard_id: int, insight_id: int
) -> DashboardInfo:
    row = _row(session, workspace_id, viewer, dashboard_id)
    viewer.check_edits(row.owner_id, "dashboard")
    before = _info(session, row, viewer)
    tiles = _tiles(session, row.id)
    tile = next((t for t in tiles if t.insight_id == insight_id), None)
    if tile is None:
        raise NotFound(f"insight {insight_id} is not on this dashboard", "insight_id")
    session.delete(tile)
    tiles.remove(tile)
    _renumber(tiles)
    session.flush()
    return _changed(session, row, viewer, before)


def move(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    dashboard_id: int,
    insight_id: int,
    position: int,
) -> DashboardInfo:
    """Put a tile at `position` (0 first; past the end means last), the others keep their order."""
    row = _row(session, workspace_id, viewer, dashboard_id)
    viewer.check_edits(row.owner_id, "dashboard")
    tiles = _tiles(session, row.id)
    tile = next((t for t in tiles if t.insight_id == insight_id), None)
    if tile is None:
        raise NotFound(f"insight {insight_id} is not on this dashboard", "insight_id")
    if position < 0:
        raise InvalidInput("position starts at 0", "position")
    before = _info(session, row, viewer)
    tiles.remove(tile)
    tiles.insert(min(position, len(tiles)), tile)
    _renumber(tiles)
    session.flush()
    return _changed(session, row, viewer, before)
