"""REST routes of workspace settings (name, time zone, ingest key) and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from opsloop.accounts.permissions import Permission
from opsloop.errors import Forbidden
from opsloop.web.access import Actor, require, work_as
from opsloop.web.deps import StateDep
from opsloop.workspaces.schemas import (
    TokenCreate,
    TokenCreated,
    TokenPublic,
    WorkspacePublic,
    WorkspaceUpdate,
)
from opsloop.workspaces.service import get_workspace, rotate_ingest_key, update_workspace
from opsloop.workspaces.tokens import create_token, list_tokens, revoke_token

router = APIRouter(prefix="/api/v1", tags=["workspace"])

ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]
AccountDep = Annotated[Actor, Depends(require(Permission.USE_ACCOUNT))]
SettingsDep = Annotated[Actor, Depends(require(Permission.MANAGE_WORKSPACE))]
TokensDep = Annotated[Actor, Depends(require(Permission.MANAGE_TOKENS))]


@router.get("/workspace", response_model=WorkspacePublic, summary="The caller's workspace")
def get_current_workspace(state: StateDep, actor: ReaderDep) -> WorkspacePublic:
    with state.db.session() as s:
        ws = get_workspace(s, actor.workspace.id)
    return WorkspacePublic.of(ws or actor.workspace)


@router.patch(
    "/workspace", response_model=WorkspacePublic, summary="Rename it or change its time zone"
)
def patch_workspace(body: WorkspaceUpdate, state: StateDep, actor: SettingsDep) -> WorkspacePublic:
    with work_as(state, actor.who) as s:
        ws = update_workspace(s, actor.workspace.id, name=body.name, timezone=body.timezone)
    return WorkspacePublic.of(ws)


@router.post(
    "/workspace/ingest-key/rotate",
    response_model=WorkspacePublic,
    summary="Replace the ingest key; the old one stops working at once",
)
def post_rotate_ingest_key(state: StateDep, actor: SettingsDep) -> WorkspacePublic:
    with work_as(state, actor.who) as s:
        ws = rotate_ingest_key(s, actor.workspace.id)
    state.ingest.forget_keys()
    return WorkspacePublic.of(ws)


@router.get("/tokens", response_model=list[TokenPublic], summary="The caller's API tokens")
def get_my_tokens(state: StateDep, actor: AccountDep) -> list[TokenPublic]:
    if actor.user_id is None:
        return []
    with state.db.session() as s:
        return [
            TokenPublic.of(t) for t in list_tokens(s, actor.workspace.id, user_id=actor.user_id)
        ]


@router.get(
    "/workspace/tokens",
    response_model=list[TokenPublic],
    summary="Every API token of the workspace (admins)",
)
def get_all_tokens(state: StateDep, actor: TokensDep) -> list[TokenPublic]:
    with state.db.session() as s:
        return [TokenPublic.of(t) for t in list_tokens(s, actor.workspace.id)]


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token acting as the caller (shown once)",
)
def post_token(body: TokenCreate, state: StateDep, actor: AccountDep) -> TokenCreated:
    if actor.user_id is None:
        raise Forbidden("a token without a user cannot make tokens", "Authorization")
    with work_as(state, actor.who) as s:
        made = create_token(s, actor.workspace.id, actor.user_id, body.name, cap=body.role)
    return TokenCreated(**TokenPublic.of(made.info).model_dump(), token=made.token)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API token: one's own, or any of the workspace for admins",
)
def delete_token(token_id: int, state: StateDep, actor: AccountDep) -> Response:
    with work_as(state, actor.who) as s:
        revoke_token(
            s,
            actor.workspace.id,
            token_id,
            user_id=actor.user_id,
            any_user=actor.can(Permission.MANAGE_TOKENS),
        )
    state.ingest.forget_keys()
    return Response(status_code=204)
