"""Settings → Workspace (name, time zone), Ingest key (rotate, SDK snippets) and API tokens (every
token of the workspace: make your own, revoke any)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.account_pages import (
    TOKEN_PROBLEMS,
    token_caps,
    token_maker,
    token_revoker,
    tokens_export,
)
from opsloop.accounts.permissions import Permission
from opsloop.web.access import require_page, work_as
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.forms import Problem, csrf_failed, notice, see_other, submit
from opsloop.web.i18n import N_
from opsloop.web.templating import page_router, render_page
from opsloop.workspaces.pages import base_url_of, sdk_guides
from opsloop.workspaces.service import get_workspace, rotate_ingest_key, update_workspace
from opsloop.workspaces.tokens import CreatedToken, list_tokens

router = page_router()
SettingsDep = Annotated[ConsoleUser, Depends(require_page(Permission.MANAGE_WORKSPACE))]
TokensDep = Annotated[ConsoleUser, Depends(require_page(Permission.MANAGE_TOKENS))]
FormStr = Annotated[str, Form()]

NOTICES = {
    "saved": N_("The workspace settings have been saved."),
    "rotated": N_(
        "The ingest key has been replaced. Update your apps: the old key no longer works."
    ),
    "token_revoked": N_("The API token has been revoked."),
}
WORKSPACE_PROBLEMS: dict[tuple[str, str | None], str] = {
    ("invalid_input", "name"): N_("Give the workspace a name of 1 to 200 characters."),
    ("conflict", "name"): N_("Another workspace already has this name."),
    ("invalid_input", "timezone"): N_("Choose a time zone from the list, such as Asia/Shanghai."),
}


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


@router.get("/settings")
def settings_home(user: SettingsDep) -> RedirectResponse:
    return RedirectResponse("/settings/workspace", status_code=303)


def _workspace_page(
    request: Request,
    user: ConsoleUser,
    *,
    done: str | None = None,
    problem: Problem | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ws = user.workspace
    context: dict[str, Any] = {
        "notice": notice(done, NOTICES, user.language),
        "problem": problem,
        "form": form or {"name": ws.name, "timezone": ws.timezone},
        "time_zones": time_zones(),
    }
    return render_page(
        request,
        user,
        "settings/workspace.html",
        context,
        nav="settings-workspace",
        status_code=status_code,
    )


@router.get("/settings/workspace", response_class=HTMLResponse)
def workspace_page(request: Request, user: SettingsDep, done: str | None = None) -> HTMLResponse:
    return _workspace_page(request, user, done=done)


@router.post("/settings/workspace")
def post_workspace(
    request: Request,
    state: StateDep,
    user: SettingsDep,
    name: FormStr = "",
    timezone: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    return submit(
        request,
        state,
        user,
        csrf_token,
        lambda s: update_workspace(s, user.workspace.id, name=name, timezone=timezone),
        problems=WORKSPACE_PROBLEMS,
        show=lambda problem, status: _workspace_page(
            request,
            user,
            problem=problem,
            form={"name": name, "timezone": timezone},
            status_code=status,
        ),
        done=see_other("/settings/workspace?done=saved"),
    )


@router.get("/settings/ingest", response_class=HTMLResponse)
def ingest_page(
    request: Request, state: StateDep, user: SettingsDep, done: str | None = None
) -> HTMLResponse:
    with state.db.session() as s:
        ws = get_workspace(s, user.workspace.id) or user.workspace
    base_url = base_url_of(request)
    context = {
        "notice": notice(done, NOTICES, user.language),
        "ingest_key": ws.ingest_key,
        "base_url": base_url,
        "guides": sdk_guides(base_url, ws.ingest_key),
    }
    return render_page(request, user, "settings/ingest.html", context, nav="settings-ingest")


@router.post("/settings/ingest/rotate")
def post_rotate(
    request: Request, state: StateDep, user: SettingsDep, csrf_token: FormStr = ""
) -> Response:
    if (expired := csrf_failed(request, user, csrf_token)) is not None:
        return expired
    with work_as(state, user.who) as s:
        rotate_ingest_key(s, user.workspace.id)
    state.ingest.forget_keys()
    return RedirectResponse("/settings/ingest?done=rotated", status_code=303)


def _tokens_page(
    request: Request,
    state: StateDep,
    user: ConsoleUser,
    *,
    done: str | None = None,
    created: CreatedToken | None = None,
    problem: Problem | None = None,
    token_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with state.db.session() as s:
        tokens = list_tokens(s, user.workspace.id)
    context: dict[str, Any] = {
        "tokens": tokens,
        "created": created,
        "caps": token_caps(user.role),
        "notice": notice(done, NOTICES, user.language),
        "token_problem": problem,
        "token_name": token_name,
        "token_action": "/settings/tokens",
        "revoke_base": "/settings/tokens",
        "show_owner": True,
        "may_revoke": lambda t: True,
    }
    return render_page(
        request,
        user,
        "settings/tokens.html",
        context,
        nav="settings-tokens",
        status_code=status_code,
    )


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request, state: StateDep, user: TokensDep, done: str | None = None
) -> HTMLResponse:
    return _tokens_page(request, state, user, done=done)


@router.post("/settings/tokens", response_class=HTMLResponse)
def post_token(
    request: Request,
    state: StateDep,
    user: TokensDep,
    name: FormStr = "",
    role: FormStr = "owner",
    csrf_token: FormStr = "",
) -> Response:
    """Make a token acting as oneself and show it, this once."""
    return submit(
        request,
        state,
        user,
        csrf_token,
        token_maker(user, name, role),
        problems=TOKEN_PROBLEMS,
        show=lambda problem, status: _tokens_page(
            request, state, user, problem=problem, token_name=name, status_code=status
        ),
        done=lambda made: _tokens_page(request, state, user, created=made),
    )


@router.post("/settings/tokens/{token_id}/revoke")
def post_revoke(
    request: Request, state: StateDep, user: TokensDep, token_id: int, csrf_token: FormStr = ""
) -> Response:
    return submit(
        request,
        state,
        user,
        csrf_token,
        token_revoker(user, token_id, any_user=True),
        problems=TOKEN_PROBLEMS,
        show=lambda problem, status: _tokens_page(
            request, state, user, problem=problem, status_code=status
        ),
        done=see_other("/settings/tokens?done=token_revoked"),
        forget_keys=True,
    )


@router.get("/settings/tokens/export.{fmt}")
def export_tokens(state: StateDep, user: TokensDep, fmt: str) -> Response:
    with state.db.session() as s:
        tokens = list_tokens(s, user.workspace.id)
    return tokens_export(tokens, user, f"api-tokens-{user.workspace.name}", fmt)
