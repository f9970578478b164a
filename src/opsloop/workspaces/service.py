"""Creating workspaces and tokens, and finding the workspace behind a key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.models import Membership, User
from opsloop.accounts.permissions import lower_role
from opsloop.audit import record
from opsloop.errors import Conflict, InvalidInput, NotFound
from opsloop.workspaces.models import ApiToken, Workspace

# last_used_at is rewritten at most this often, so reading with a token is not a write each time.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class WorkspaceRef:
    """What request handling needs to know about a workspace."""

    id: int
    name: str
    timezone: str
    ingest_key: str


@dataclass(frozen=True, slots=True)
class TokenRef:
    """An API token as a request sees it: its workspace and the role it acts with (for a user's
    token, the user's role there, capped by the role the token was made with)."""

    workspace: WorkspaceRef
    user_id: int | None
    role: str
    id: int = 0
    prefix: str = ""
    name: str = ""
    user_email: str | None = None


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
    ws = Workspace(name=name, timezone=timezone, ingest_key=new_ingest_key())
    session.add(ws)
    session.flush()
    record(
        session,
        "workspace.created",
        workspace_id=ws.id,
        entity_type="workspace",
        entity_id=ws.id,
        after=_settings_of(ws),
    )
    token = create_api_token(session, ws.id, user_id=None, name="workspace", role="admin")
    return CreatedWorkspace(ws.id, ws.name, ws.timezone, ws.ingest_key, token)


def new_ingest_key() -> str:
    return "phc_" + secrets.token_urlsafe(24)


def _settings_of(ws: Workspace) -> dict[str, str]:
    return {"name": ws.name, "timezone": ws.timezone}


def _workspace_row(session: Session, workspace_id: int) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound(f"no workspace has the id {workspace_id}", "workspace")
    return ws


def update_workspace(
    session: Session, workspace_id: int, *, name: str | None = None, timezone: str | None = None
) -> WorkspaceRef:
    """Rename a workspace or change its time zone (the day boundaries of every analysis)."""
    ws = _workspace_row(session, workspace_id)
    before = _settings_of(ws)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a workspace needs a name of 1 to 200 characters", field="name")
        taken = session.scalar(select(Workspace.id).where(Workspace.name == name))
        if taken is not None and taken != ws.id:
            raise Conflict(f"a workspace named {name!r} already exists", field="name")
        ws.name = name
    if timezone is not None:
        ws.timezone = validate_timezone(timezone.strip())
    session.flush()
    record(
        session,
        "workspace.updated",
        workspace_id=ws.id,
        entity_type="workspace",
        entity_id=ws.id,
        before=before,
        after=_settings_of(ws),
    )
    return _ref(ws)


def rotate_ingest_key(session: Session, workspace_id: int) -> WorkspaceRef:
    """Give the workspace a new ingest key; the old one stops working (SDKs must be updated)."""
    ws = _workspace_row(session, workspace_id)
    old = ws.ingest_key
    ws.ingest_key = new_ingest_key()
    session.flush()
    record(
        session,
        "ingest_key.rotated",
        workspace_id=ws.id,
        entity_type="workspace",
        entity_id=ws.id,
        before={"ingest_key": key_prefix(old)},
        after={"ingest_key": key_prefix(ws.ingest_key)},
    )
    return _ref(ws)


def key_prefix(key: str) -> str:
    """What the audit log and token lists show of a key or token: enough to tell them apart."""
    return key[:10] + "…"


def issue_api_token(
    session: Session, workspace_id: int, *, user_id: int | None, name: str, role: str
) -> tuple[ApiToken, str]:
    """Create a token: its row and its value. Only its hash is kept, so this is the one chance to
    see it."""
    token = "olt_" + secrets.token_urlsafe(32)
    row = ApiToken(
        workspace_id=workspace_id,
        user_id=user_id,
        token_hash=hash_token(token),
        prefix=token[:10],
        name=name,
        role=role,
    )
    session.add(row)
    session.flush()
    return row, token


def create_api_token(
    session: Session, workspace_id: int, *, user_id: int | None, name: str, role: str
) -> str:
    """Create a token and return it (see `issue_api_token`)."""
    return issue_api_token(session, workspace_id, user_id=user_id, name=name, role=role)[1]


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
    if isinstance(key, int) or (isinstance(key, str) and key.isascii() and key.isdigit()):
        ws = session.get(Workspace, int(key))
        if ws is not None:
            return _ref(ws)
    ws = session.scalar(select(Workspace).where(Workspace.name == str(key)))
    return _ref(ws) if ws is not None else None


def workspace_for_ingest_key(session: Session, key: str) -> WorkspaceRef | None:
    ws = session.scalar(select(Workspace).where(Workspace.ingest_key == key))
    return _ref(ws) if ws is not None else None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def resolve_api_token(session: Session, token: str) -> TokenRef | None:
    """The token's workspace and role, or None for an unknown token or one whose user is no
    longer a member of its workspace. Notes when it was used (at most once a minute)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        return None
    ws = session.get(Workspace, row.workspace_id)
    if ws is None:
        return None
    role, email = row.role, None
    if row.user_id is not None:
        member = session.execute(
            select(Membership.role, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.user_id == row.user_id, Membership.workspace_id == ws.id)
        ).first()
        if member is None:
            return None
        role = lower_role(row.role, member.role)
        email = member.email
    now = datetime.now(UTC)
    if row.last_used_at is None or now - _utc(row.last_used_at) >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return TokenRef(_ref(ws), row.user_id, role, row.id, row.prefix, row.name, email)
