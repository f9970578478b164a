"""FastAPI dependencies: the server's state and the caller's workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from opsloop.errors import Unauthorized
from opsloop.web.state import AppState
from opsloop.workspaces.service import TokenRef, resolve_api_token


async def get_state(request: Request) -> AppState:
    # async: FastAPI runs a plain def dependency in a worker thread, a hop every request pays.
    state: AppState = request.app.state.opsloop
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_token(request: Request, state: StateDep) -> TokenRef:
    token = bearer(request)
    if token is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'", "Authorization")
    with state.db.session() as s:
        ref = resolve_api_token(s, token)
    if ref is None:
        raise Unauthorized("unknown API token", "Authorization")
    return ref


TokenDep = Annotated[TokenRef, Depends(current_token)]
