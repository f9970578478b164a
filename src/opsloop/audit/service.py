"""Recording changes in the audit log and reading them back, newest first."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from opsloop.audit.models import AuditEntry
from opsloop.errors import InvalidInput

_WHO_KEY = "opsloop.audit.who"
MAX_LIMIT = 1000
VIAS = ("console", "api", "cli", "system")


@dataclass(frozen=True, slots=True)
class Who:
    """Who is acting: a label kept verbatim in each entry, the door used, the user (if one) and
    the client's address (for requests)."""

    label: str
    via: str
    user_id: int | None = None
    ip: str | None = None


SYSTEM = Who("system", "system")


def cli_who() -> Who:
    """Whoever runs an `opsloop` command: the operating-system user, through the CLI."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment
        name = "unknown"
    return Who(f"{name} (cli)", "cli")


def acting_as(session: Session, who: Who) -> Session:
    """Bind who acts to a unit of work: every `record` in it names them."""
    session.info[_WHO_KEY] = who
    return session


def who_of(session: Session) -> Who:
    who = session.info.get(_WHO_KEY)
    return who if isinstance(who, Who) else SYSTEM


def _jsonable(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plain JSON object (dates as ISO text, anything else as its text)."""
    if value is None:
        return None
    out: dict[str, Any] = orjson.loads(orjson.dumps(dict(value), default=str))
    return out


def record(
    session: Session,
    action: str,
    *,
    workspace_id: int,
    entity_type: str,
    entity_id: str | int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Record one change in the workspace's audit log, in the caller's transaction (so it is kept
    exactly when the change is). `before` is None for a creation, `after` None for a deletion; a
    change that changes nothing (before == after) is not recorded. Never pass secrets: for tokens
    and keys, record their prefix."""
    old, new = _jsonable(before), _jsonable(after)
    if old is not None and old == new:
        return
    who = who_of(session)
    session.add(
        AuditEntry(
            workspace_id=workspace_id,
            at=datetime.now(UTC),
            actor_user_id=who.user_id,
            actor=who.label[:400],
            via=who.via,
            ip=who.ip,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id)[:64],
            before=old,
            after=new,
        )
    )
    session.flush()


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """`action` matches exactly, or as a prefix when it ends with a dot ("member."); `actor`
    matches any part of the actor's name, ignoring case; times bound `at` (after inclusive,
    before exclusive)."""

    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    after: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    via: str
    ip: str | None
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def subject(self) -> str | None:
        """What the entry is about, as people name it: an email or a name, when it has one."""
        for state in (self.after, self.before):
            for key in ("email", "name"):
                value = (state or {}).get(key)
                if isinstance(value, str) and value:
                    return value
        return None

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field that differs, in field order."""
        old, new = self.before or {}, self.after or {}
        keys = [*old, *(k for k in new if k not in old)]
        return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "actor_user_id": self.actor_user_id,
            "via": self.via,
            "ip": self.ip,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def _filtered(workspace_id: int, flt: AuditFilter) -> Select[AuditEntry]:
    q = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if flt.action:
        if flt.action.endswith("."):
            q = q.where(AuditEntry.action.startswith(flt.action, autoescape=True))
        else:
            q = q.where(AuditEntry.action == flt.action)
    if flt.entity_type:
        q = q.where(AuditEntry.entity_type == flt.entity_type)
    if flt.entity_id:
        q = q.where(AuditEntry.entity_id == flt.entity_id)
    if flt.actor:
        q = q.where(func.lower(AuditEntry.actor).contains(flt.actor.lower(), autoescape=True))
    if flt.after is not None:
        q = q.where(AuditEntry.at >= flt.after)
    if flt.before is not None:
        q = q.where(AuditEntry.at < flt.before)
    return q


def list_entries(
    session: Session,
    workspace_id: int,
    flt: AuditFilter | None = None,
    *,
    limit: int = 50,
    before_id: int | None = None,
) -> tuple[list[AuditRecord], int | None]:
    """A page of the workspace's entries matching the filter, newest first, and the cursor of the
    next page (pass it as `before_id`), None on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    q = _filtered(workspace_id, flt or AuditFilter())
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    rows = list(session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    page = [
        AuditRecord(
            r.id,
            _utc(r.at),
            r.actor,
            r.actor_user_id,
            r.via,
            r.ip,
            r.action,
            r.entity_type,
            r.entity_id,
            r.before,
            r.after,
        )
        for r in rows
    ]
    return page, (page[-1].id if more and page else None)


def actions_in(session: Session, workspace_id: int) -> list[str]:
    """The distinct actions recorded in a workspace, for a filter's choices."""
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.workspace_id == workspace_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )
