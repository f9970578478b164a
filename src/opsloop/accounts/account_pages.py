"""The "My account" page: who you are here, your language, your password and your API tokens."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from opsloop.accounts.models import ROLES
from opsloop.accounts.pages import login_throttle
from opsloop.accounts.permissions import Permission, role_rank
from opsloop.accounts.service import change_password, password_fingerprint
from opsloop.errors import InvalidInput, OpsLoopError, RateLimited
from opsloop.web.access import client_ip, require_page, work_as
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.forms import Problem, csrf_failed, notice, problem_of, see_other, submit
from opsloop.web.i18n import N_, translate
from opsloop.web.session import SessionData, write_session
from opsloop.web.templating import ROLE_NAMES, page_router, render_page
from opsloop.workspaces.tokens import (
    CreatedToken,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
)

router = page_router()
AccountDep = Annotated[ConsoleUser, Depends(require_page(Permission.USE_ACCOUNT))]
FormStr = Annotated[str, Form()]

NOTICES = {
    "password": N_("Your password has been changed. Your other sessions have been signed out."),
    "token_revoked": N_("The API token has been revoked."),
}
PASSWORD_PROBLEMS: dict[tuple[str, str | None], str] = {
    ("invalid_input", "current_password"): N_("The current password is not right."),
    ("invalid_input", "new_password"): N_(
        "The new password needs 8 to 1024 characters and must differ from the current one."
    ),
    ("invalid_input", "confirm_password"): N_("The two new passwords are not the same."),
    ("rate_limited", "current_password"): N_(
        "Too many wrong passwords. Wait a few minutes and try again."
    ),
}
TOKEN_PROBLEMS: dict[tuple[str, str | None], str] = {
    ("invalid_input", "name"): N_("Give the token a name of 1 to 200 characters."),
    ("invalid_input", "role"): N_("Choose what the token may do."),
    ("forbidden", "token_id"): N_("You can revoke only your own API tokens."),
}


def token_caps(role: str) -> list[str]:
    """The roles a member may cap a new token at: theirs ("owner" = no cap) and those below."""
    return ["owner", *(r for r in ROLES if role_rank(r) < role_rank(role))]


def token_maker(user: ConsoleUser, name: str, role: str) -> Callable[[Session], CreatedToken]:
    """The change of a "new API token" form: a token of one's own, its role capped at `role`."""

    def make(s: Session) -> CreatedToken:
        if role not in token_caps(user.role):
            raise InvalidInput("choose a role at most yours", "role")
        return create_token(s, user.workspace.id, user.user_id, name, cap=role)

    return make


def token_revoker(
    user: ConsoleUser, token_id: int, *, any_user: bool
) -> Callable[[Session], object]:
    """The change of a "revoke" button: one's own token, or any of the workspace's."""
    return lambda s: revoke_token(
        s, user.workspace.id, token_id, user_id=user.user_id, any_user=any_user
    )


def _page(
    request: Request,
    state: StateDep,
    user: ConsoleUser,
    *,
    done: str | None = None,
    created: CreatedToken | None = None,
    password_problem: Problem | None = None,
    token_problem: Problem | None = None,
    token_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with state.db.session() as s:
        tokens = list_tokens(s, user.workspace.id, user_id=user.user_id)
    context: dict[str, Any] = {
        "tokens": tokens,
        "created": created,
        "caps": token_caps(user.role),
        "notice": notice(done, NOTICES, user.language),
        "password_problem": password_problem,
        "token_problem": token_problem,
        "token_name": token_name,
        "token_action": "/account/tokens",
        "revoke_base": "/account/tokens",
        "show_owner": False,
        "may_revoke": lambda t: t.user_id == user.user_id,
    }
    return render_page(
        request, user, "accounts/account.html", context, nav="account", status_code=status_code
    )


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, state: StateDep, user: AccountDep, done: str | None = None
) -> HTMLResponse:
    return _page(request, state, user, done=done)


@router.post("/account/password")
def post_password(
    request: Request,
    state: StateDep,
    user: AccountDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
    confirm_password: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    if (expired := csrf_failed(request, user, csrf_token)) is not None:
        return expired
    throttle, address = login_throttle(request), client_ip(request) or "unknown"
    try:
        wait = throttle.retry_after(user.email, address)
        if wait > 0:
            raise RateLimited(f"retry in {math.ceil(wait)} seconds", "current_password")
        if new_password != confirm_password:
            raise InvalidInput("the two new passwords differ", "confirm_password")
        with work_as(state, user.who) as s:
            changed = change_password(s, user.user_id, current_password, new_password)
            fingerprint = password_fingerprint(changed)
    except OpsLoopError as exc:
        if exc.code == "invalid_input" and exc.field == "current_password":
            throttle.record_failure(user.email, address)
        problem = problem_of(exc, user.language, PASSWORD_PROBLEMS)
        return _page(request, state, user, password_problem=problem, status_code=exc.status)
    throttle.reset(user.email, address)
    # This browser stays signed in with the new password (and a new CSRF token).
    session = SessionData(
        user_id=user.user_id,
        password_fp=fingerprint,
        workspace_id=user.workspace.id,
        language=user.language,
    )
    response = RedirectResponse("/account?done=password", status_code=303)
    write_session(request, response, session)
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def post_token(
    request: Request,
    state: StateDep,
    user: AccountDep,
    name: FormStr = "",
    role: FormStr = "owner",
    csrf_token: FormStr = "",
) -> Response:
    """Make a token and show it, this once."""
    return submit(
        request,
        state,
        user,
        csrf_token,
        token_maker(user, name, role),
        problems=TOKEN_PROBLEMS,
        show=lambda problem, status: _page(
            request, state, user, token_problem=problem, token_name=name, status_code=status
        ),
        done=lambda made: _page(request, state, user, created=made),
    )


@router.post("/account/tokens/{token_id}/revoke")
def post_revoke(
    request: Request, state: StateDep, user: AccountDep, token_id: int, csrf_token: FormStr = ""
) -> Response:
    return submit(
        request,
        state,
        user,
        csrf_token,
        token_revoker(user, token_id, any_user=False),
        problems=TOKEN_PROBLEMS,
        show=lambda problem, status: _page(
            request, state, user, token_problem=problem, status_code=status
        ),
        done=see_other("/account?done=token_revoked"),
        forget_keys=True,
    )


@router.get("/account/tokens/export.{fmt}")
def export_own_tokens(state: StateDep, user: AccountDep, fmt: str) -> Response:
    """The signed-in member's own API tokens, as the page lists them."""
    with state.db.session() as s:
        tokens = list_tokens(s, user.workspace.id, user_id=user.user_id)
    return tokens_export(tokens, user, "my-api-tokens", fmt)


def tokens_export(tokens: Sequence[TokenInfo], user: ConsoleUser, name: str, fmt: str) -> Response:
    """API tokens as a download (never their value): Settings → API tokens and My account."""
    lang = user.language
    table = ExportTable(
        name,
        (
            Column("name"),
            Column("member"),
            Column("token"),
            Column("role"),
            Column("created_at", "datetime"),
            Column("last_used_at", "datetime"),
        ),
        [
            (
                t.name,
                t.user_email or translate(lang, N_("Workspace token")),
                t.prefix,
                translate(lang, ROLE_NAMES[t.role]),
                t.created_at,
                t.last_used_at,
            )
            for t in tokens
        ],
        timezone=user.workspace.timezone,
        sheet=translate(lang, N_("API tokens")),
    )
    return export_response(table, fmt)
