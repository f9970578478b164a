"""The workspace's own metrics: define, read, list, replace and delete them, validated like the
built-in ones; and the definitions a metrics query loads from the operational store.

A workspace metric may use any built-in or workspace metric in its formula. Its key must not be
a built-in one (docs/decisions.md, D11). A metric that another workspace metric's formula names
cannot be deleted, nor replaced by one whose formula would make a cycle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsloop.analytics.catalog.catalog import Catalog, builtin_catalog, parse_metric
from opsloop.analytics.catalog.definitions import Definitions
from opsloop.analytics.catalog.models import WorkspaceMetric
from opsloop.analytics.catalog.plan import describe
from opsloop.analytics.catalog.spec import AnyMetric
from opsloop.analytics.catalog.spend import spend_table, spend_version
from opsloop.analytics.segments.models import SavedSegment
from opsloop.audit import record
from opsloop.errors import Conflict, InvalidInput, NotFound

# Keys a metric cannot take: the console's metric pages use them as addresses.
RESERVED_KEYS = frozenset({"new", "spend"})


@dataclass(frozen=True, slots=True)
class MetricInfo:
    metric: AnyMetric
    source: str  # "builtin" or "workspace"
    parameters: tuple[str, ...]
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        definition = self.metric.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return {
            **describe(self.metric),
            "source": self.source,
            "parameters": list(self.parameters),
            "definition": {"key": self.metric.key, "kind": self.metric.kind, **definition},
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def _rows(session: Session, workspace_id: int) -> list[WorkspaceMetric]:
    return list(
        session.scalars(
            select(WorkspaceMetric)
            .where(WorkspaceMetric.workspace_id == workspace_id)
            .order_by(WorkspaceMetric.key)
        )
    )


def _stored(rows: list[WorkspaceMetric]) -> list[AnyMetric]:
    return [parse_metric(row.definition) for row in rows]


def workspace_catalog(session: Session, workspace_id: int) -> Catalog:
    return builtin_catalog().with_metrics(_stored(_rows(session, workspace_id)))


def list_metrics(session: Session, workspace_id: int) -> list[MetricInfo]:
    """The built-in metrics, then the workspace's, each by key."""
    rows = {row.key: row for row in _rows(session, workspace_id)}
    catalog = builtin_catalog().with_metrics(_stored(list(rows.values())))
    out = []
    for metric in sorted(catalog, key=lambda m: (m.key in rows, m.key)):
        row = rows.get(metric.key)
        out.append(
            MetricInfo(
                metric,
                "workspace" if row else "builtin",
                tuple(sorted(catalog.parameters(metric.key))),
                None if row is None else _utc(row.created_at),
                None if row is None else _utc(row.updated_at),
            )
        )
    return out


def get_metric(session: Session, workspace_id: int, key: str) -> MetricInfo:
    for info in list_metrics(session, workspace_id):
        if info.metric.key == key:
            return info
    raise NotFound(f"no metric {key!r} in the catalog", "key")


def _row(session: Session, workspace_id: int, key: str) -> WorkspaceMetric:
    row = session.scalar(
        select(WorkspaceMetric).where(
            WorkspaceMetric.workspace_id == workspace_id, WorkspaceMetric.key == key
        )
    )
    if row is None:
        if key in builtin_catalog():
            raise Conflict(f"{key!r} is a built-in metric: it cannot be changed", "key")
        raise NotFound(f"the workspace defines no metric {key!r}", "key")
    return row


def _checked(session: Session, workspace_id: int, metric: AnyMetric) -> AnyMetric:
    """The metric, once the workspace's catalog with it still holds together."""
    if metric.key in builtin_catalog():
        raise Conflict(f"{metric.key!r} is a built-in metric's key: choose another", "key")
    if metric.key in RESERVED_KEYS:
        raise Conflict(
            f"{metric.key!r} names a console page (/metrics/{metric.key}): choose another", "key"
        )
    others = [m for m in _stored(_rows(session, workspace_id)) if m.key != metric.key]
    builtin_catalog().with_metrics([*others, metric])
    return metric


def define_metric(
    session: Session, workspace_id: int, data: Any, *, created_by: int | None = None
) -> MetricInfo:
    """Save a new workspace metric (409 when its key is taken)."""
    metric = parse_metric(data)
    exists = session.scalar(
        select(WorkspaceMetric.id).where(
            WorkspaceMetric.workspace_id == workspace_id, WorkspaceMetric.key == metric.key
        )
    )
    if exists is not None:
        raise Conflict(f"the workspace already defines {metric.key!r}", "key")
    _checked(session, workspace_id, metric)
    definition = metric.model_dump(mode="json", by_alias=True)
    session.add(
        WorkspaceMetric(
            workspace_id=workspace_id,
            key=metric.key,
            definition=definition,
            created_by=created_by,
        )
    )
    session.flush()
    _audit(session, workspace_id, "metric.created", metric.key, None, definition)
    return get_metric(session, workspace_id, metric.key)


def replace_metric(session: Session, workspace_id: int, key: str, data: Any) -> MetricInfo:
    """Replace a workspace metric's definition (its key stays)."""
    if isinstance(data, dict) and data.get("key", key) != key:
        raise InvalidInput(f"the definition's key is not {key!r}; keys do not change", "key")
    metric = parse_metric({**data, "key": key} if isinstance(data, dict) else data)
    row = _row(session, workspace_id, key)
    _checked(session, workspace_id, metric)
    before = row.definition
    row.definition = metric.model_dump(mode="json", by_alias=True)
    row.updated_at = datetime.now(UTC)
    session.flush()
    _audit(session, workspace_id, "metric.changed", key, before, row.definition)
    return get_metric(session, workspace_id, key)


def delete_metric(session: Session, workspace_id: int, key: str) -> None:
    row = _row(session, workspace_id, key)
    users = workspace_catalog(session, workspace_id).dependents(key)
    if users:
        raise Conflict(f"{key!r} is used by {', '.join(users)}", "key")
    _audit(session, workspace_id, "metric.deleted", key, row.definition, None)
    session.delete(row)
    session.flush()


def _audit(
    session: Session,
    workspace_id: int,
    action: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record(
        session,
        action,
        workspace_id=workspace_id,
        entity_type="metric",
        entity_id=key,
        before=before,
        after=after,
    )


def load_definitions(session: Session, workspace_id: int) -> Definitions:
    """What a metrics query reads from the operational store, with a version that changes
    whenever any of it does (the query cache's key holds it)."""
    rows = _rows(session, workspace_id)
    names = dict(
        session.execute(
            select(SavedSegment.id, SavedSegment.name).where(
                SavedSegment.workspace_id == workspace_id
            )
        ).all()
    )
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.key}\x00{row.id}\x00{_utc(row.updated_at).isoformat()}\n".encode())
    for sid, name in sorted(names.items()):
        digest.update(f"segment\x00{sid}\x00{name}\n".encode())
    digest.update(spend_version(session, workspace_id).encode())
    return Definitions(
        metrics=tuple(_stored(rows)),
        segment_names={int(k): str(v) for k, v in names.items()},
        spend=spend_table(session, workspace_id),
        version=digest.hexdigest()[:16],
    )


def count_metrics(session: Session, workspace_id: int) -> int:
    return int(
        session.scalar(select(func.count()).where(WorkspaceMetric.workspace_id == workspace_id))
        or 0
    )
