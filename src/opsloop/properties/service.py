"""What to materialize: one property on request, or the ones queries read most (the automatic
choice, docs/decisions.md D7), and the list of what is materialized with how much it is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from opsloop.audit import record
from opsloop.events import EventStore
from opsloop.events.materialized import (
    MaterializedProperty,
    Progress,
    PropertyKind,
    add_materialized,
    drop_materialized,
    list_materialized,
)
from opsloop.events.property_usage import PropertyUse, property_uses
from opsloop.properties.schemas import (
    AutoMaterializeRequest,
    MaterializedPropertyPublic,
    MaterializeRequest,
    PropertyUsePublic,
)

# The automatic choice never gives a workspace more columns than this of its own making (each
# column costs every write an extraction; hand-picked ones do not count).
MAX_AUTO_PER_WORKSPACE = 16


def public(p: MaterializedProperty) -> MaterializedPropertyPublic:
    return MaterializedPropertyPublic(
        key=p.key,
        type=p.kind,
        column=p.column,
        origin=p.origin,
        ready=p.ready,
        created_at=p.created_at,
    )


def _audit(
    session: Session,
    workspace_id: int,
    action: str,
    p: MaterializedPropertyPublic,
    *,
    created: bool,
) -> None:
    view = p.model_dump(mode="json", exclude={"ready"})
    record(
        session,
        action,
        workspace_id=workspace_id,
        entity_type="materialized_property",
        entity_id=f"{p.key}:{p.type}",
        before=None if created else view,
        after=view if created else None,
    )


def materialize(
    store: EventStore,
    session: Session,
    workspace_id: int,
    request: MaterializeRequest,
    progress: Progress | None = None,
) -> MaterializedPropertyPublic:
    """Materialize one property (recorded in the audit log when it is new)."""
    kind: PropertyKind | None = None if request.type == "auto" else request.type
    before = {(p.key, p.type) for p in materialized(store, workspace_id)}
    made = public(add_materialized(store, workspace_id, request.key, kind, progress=progress))
    if (made.key, made.type) not in before:
        _audit(session, workspace_id, "property.materialized", made, created=True)
    return made


def materialized(store: EventStore, workspace_id: int) -> list[MaterializedPropertyPublic]:
    cur = store.cursor()
    try:
        return [public(p) for p in list_materialized(cur, workspace_id)]
    finally:
        cur.close()


def drop(
    store: EventStore,
    session: Session,
    workspace_id: int,
    key: str,
    kind: PropertyKind | None = None,
) -> list[MaterializedPropertyPublic]:
    """Stop materializing `key` (one type or both), recorded in the audit log."""
    gone = [public(p) for p in drop_materialized(store, workspace_id, key, kind)]
    for p in gone:
        _audit(session, workspace_id, "property.unmaterialized", p, created=False)
    return gone


def usage(store: EventStore, workspace_id: int, days: int = 30) -> list[PropertyUsePublic]:
    """The event properties the workspace's queries read in the last `days` days, most first."""
    done = {(p.key, p.type) for p in materialized(store, workspace_id)}
    return [
        PropertyUsePublic(
            key=u.key,
            type=u.kind,
            uses=u.uses,
            last_used=u.last_used,
            materialized=(u.key, u.kind) in done,
        )
        for u in _recent(store, workspace_id, days)
    ]


def auto_candidates(
    store: EventStore, workspace_id: int, request: AutoMaterializeRequest
) -> list[PropertyUse]:
    """The properties the automatic choice would materialize now: read at least `min_uses`
    times in the last `days` days, as text or as a number (the column's type follows), not
    materialized yet, most read first, within `limit` and the workspace's allowance."""
    current = materialized(store, workspace_id)
    done = {(p.key, p.type) for p in current}
    room = MAX_AUTO_PER_WORKSPACE - sum(p.origin == "auto" for p in current)
    fresh = [
        u
        for u in _recent(store, workspace_id, request.days)
        if u.uses >= request.min_uses and (u.key, u.kind) not in done
    ]
    return fresh[: max(0, min(request.limit, room))]


def auto_materialize(
    store: EventStore,
    session: Session,
    workspace_id: int,
    request: AutoMaterializeRequest,
    progress: Progress | None = None,
) -> list[MaterializedPropertyPublic]:
    """Materialize the automatic choice's candidates, each recorded in the audit log."""
    made = []
    for u in auto_candidates(store, workspace_id, request):
        p = public(
            add_materialized(store, workspace_id, u.key, u.kind, origin="auto", progress=progress)
        )
        _audit(session, workspace_id, "property.materialized", p, created=True)
        made.append(p)
    return made


def _recent(store: EventStore, workspace_id: int, days: int) -> list[PropertyUse]:
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    return property_uses(store, workspace_id, since)
