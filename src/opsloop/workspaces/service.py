"""Creating workspaces and tokens, and finding the workspace behind a key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.errors import Conflict, InvalidInput
from opsloop.workspaces.models import ApiToken, Workspace


@dataclass(frozen=True, slots=True)
class WorkspaceRef:
    """What request handling needs to know about a workspace."""

    id: int
    name: str
    timezone: str
    ingest_key: str


@dataclass(frozen=True, slots=True)
class TokenRef:
    workspace: WorkspaceRef
    user_id: int | None
    role: str


@dataclass(frozen=True, slots=True)
class CreatedWorkspace:
    id: int
    name: str
    timezone: str
    ingest_key: str
    api_token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ref(ws: Workspace) -> WorkspaceRef:
    return WorkspaceRef(ws.id, ws.name, ws.timezone, ws.ingest_key)


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", field="timezone") from exc
    return name


def create_workspace(
    session: Session, name: str, timezone: str = "Asia/Shanghai"
) -> CreatedWorkspace:
    name = name.strip()
    if not name:
        raise InvalidInput("a workspace needs a name", field="name")
    validate_timezone(timezone)
    if session.scalar(select(Workspace).where(Workspace.name == name)) is not None:
        raise Conflict(f"a workspace named {name!r} already exists", field="name")
    ws = Workspace(name=name, timezone=timezone, ingest_key="phc_" + secrets.token_urlsafe(24))
    session.add(ws)
    session.flush()
    token = create_api_token(session, ws.id, user_id=None, name="workspace", role="admin")
    return CreatedWorkspace(ws.id, ws.name, ws.timezone, ws.ingest_key, token)


def create_api_token(
    session: Session, workspace_id: int, *, user_id: int | None, name: str, role: str
) -> str:
    """Create a token and return it; only its hash is kept, so this is the one chance to see it."""
    token = "olt_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            workspace_id=workspace_id,
            user_id=user_id,
            token_hash=hash_token(token),
            prefix=token[:10],
            name=name,
            role=role,
        )
    )
    session.flush()
    return token


def revoke_api_token(session: Session, token: str) -> bool:
    """Delete a token by its value; False when there is no such token."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def list_workspaces(session: Session) -> list[WorkspaceRef]:
    return [_ref(ws) for ws in session.scalars(select(Workspace).order_by(Workspace.id))]


def get_workspace(session: Session, key: str | int) -> WorkspaceRef | None:
    """By id, or by name."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        ws = session.get(Workspace, int(key))
        if ws is not None:
            return _ref(ws)
    ws = session.scalar(select(Workspace).where(Workspace.name == str(key)))
    return _ref(ws) if ws is not None else None


def workspace_for_ingest_key(session: Session, key: str) -> WorkspaceRef | None:
    ws = session.scalar(select(Workspace).where(Workspace.ingest_key == key))
    return _ref(ws) if ws is not None else None


def resolve_api_token(session: Session, token: str) -> TokenRef | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return None
    ws = session.get(Workspace, row.workspace_id)
    if ws is None:
        return None
    row.last_used_at = datetime.now(UTC)
    return TokenRef(_ref(ws), row.user_id, row.role)
