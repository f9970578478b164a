"""FastAPI dependencies: the server's state and the bearer token a request carries (who the
caller is and what they may do: `web/access.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from opsloop.web.state import AppState


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
