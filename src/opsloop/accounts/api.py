"""REST routes of accounts: the caller (`/me`: language, password) and the workspace's members."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from opsloop.accounts.members import add_member, change_role, list_members, remove_member
from opsloop.accounts.models import User
from opsloop.accounts.pages import login_throttle
from opsloop.accounts.permissions import Permission, permissions_of
from opsloop.accounts.schemas import (
    MemberCreate,
    MemberCreated,
    MemberPublic,
    MemberUpdate,
    MePublic,
    MeUpdate,
    PasswordChange,
)
from opsloop.accounts.service import change_password, set_language
from opsloop.errors import Forbidden, InvalidInput, RateLimited
from opsloop.web.access import Actor, client_ip, require, work_as
from opsloop.web.deps import StateDep
from opsloop.workspaces.schemas import WorkspacePublic

router = APIRouter(prefix="/api/v1", tags=["accounts"])

AccountDep = Annotated[Actor, Depends(require(Permission.USE_ACCOUNT))]
MembersDep = Annotated[Actor, Depends(require(Permission.MANAGE_MEMBERS))]


def _user_of(s: Session, actor: Actor) -> User:
    user = s.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Forbidden("this token belongs to no user; use a user's token", "Authorization")
    return user


def _me(s: Session, actor: Actor) -> MePublic:
    user = s.get(User, actor.user_id) if actor.user_id is not None else None
    return MePublic(
        user_id=actor.user_id,
        email=user.email if user else None,
        language=user.language if user else None,  # type: ignore[arg-type]
        role=actor.role,  # type: ignore[arg-type]
        via=actor.via,
        token_id=actor.token_id,
        workspace=WorkspacePublic.of(actor.workspace),
        permissions=[p.value for p in permissions_of(actor.role)],
    )


@router.get("/me", response_model=MePublic, summary="Who the caller is and what they may do")
def get_me(state: StateDep, actor: AccountDep) -> MePublic:
    with state.db.session() as s:
        return _me(s, actor)


@router.patch("/me", response_model=MePublic, summary="Choose the caller's console language")
def update_me(body: MeUpdate, state: StateDep, actor: AccountDep) -> MePublic:
    with work_as(state, actor.who) as s:
        set_language(s, _user_of(s, actor).id, body.language)
        return _me(s, actor)


@router.post(
    "/me/password",
    status_code=204,
    response_class=Response,
    summary="Change the caller's password (console sessions with the old one end)",
)
def post_password(
    body: PasswordChange, request: Request, state: StateDep, actor: AccountDep
) -> Response:
    throttle = login_throttle(request)
    with work_as(state, actor.who) as s:
        user = _user_of(s, actor)
        email, address = user.email, client_ip(request) or "unknown"
    # Guessing the current password here is as slow as at the sign-in form.
    wait = throttle.retry_after(email, address)
    if wait > 0:
        raise RateLimited(
            f"too many wrong passwords; try again in {math.ceil(wait)} seconds", "current_password"
        )
    try:
        with work_as(state, actor.who) as s:
            change_password(s, _user_of(s, actor).id, body.current_password, body.new_password)
    except InvalidInput as exc:
        if exc.field == "current_password":
            throttle.record_failure(email, address)
        raise
    throttle.reset(email, address)
    return Response(status_code=204)


@router.get("/members", response_model=list[MemberPublic], summary="The workspace's members")
def get_members(state: StateDep, actor: MembersDep) -> list[MemberPublic]:
    with state.db.session() as s:
        return [MemberPublic.of(m) for m in list_members(s, actor.workspace.id)]


@router.post(
    "/members",
    response_model=MemberCreated,
    status_code=201,
    summary="Add a member: an existing user, or a new one with a generated password",
)
def post_member(body: MemberCreate, state: StateDep, actor: MembersDep) -> MemberCreated:
    with work_as(state, actor.who) as s:
        added = add_member(
            s,
            actor.workspace.id,
            body.email,
            body.role,
            acting_role=actor.role,
            password=body.password,
        )
    return MemberCreated(**MemberPublic.of(added.member).model_dump(), password=added.password)


@router.patch("/members/{user_id}", response_model=MemberPublic, summary="Change a member's role")
def patch_member(
    user_id: int, body: MemberUpdate, state: StateDep, actor: MembersDep
) -> MemberPublic:
    with work_as(state, actor.who) as s:
        member = change_role(s, actor.workspace.id, user_id, body.role, acting_role=actor.role)
    state.ingest.forget_keys()  # their tokens may no longer send events
    return MemberPublic.of(member)


@router.delete(
    "/members/{user_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a member (and their API tokens of this workspace)",
)
def delete_member(user_id: int, state: StateDep, actor: MembersDep) -> Response:
    with work_as(state, actor.who) as s:
        remove_member(s, actor.workspace.id, user_id, acting_role=actor.role)
    state.ingest.forget_keys()
    return Response(status_code=204)
