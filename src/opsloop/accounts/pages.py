"""Console routes for signing in and out, choosing the language and switching workspace."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from opsloop.accounts.models import User
from opsloop.accounts.permissions import Permission
from opsloop.accounts.service import authenticate, password_fingerprint, set_language
from opsloop.accounts.throttle import LoginThrottle
from opsloop.audit import Who, acting_as
from opsloop.errors import NotFound
from opsloop.web.access import client_ip, public, require_page
from opsloop.web.console_user import (
    ConsoleRedirect,
    ConsoleUser,
    anonymous_language,
    console_user,
    safe_next,
)
from opsloop.web.deps import StateDep
from opsloop.web.error_pages import SERVER_ERROR, ErrorText, error_page
from opsloop.web.i18n import N_, normalize_language
from opsloop.web.session import SessionData, clear_session, read_session, write_session
from opsloop.web.templating import page_router, render_html

router = page_router()

HOME = "/overview"
MSG_BAD_LOGIN = N_("Wrong email or password.")
MSG_CSRF = N_("This form has expired. Please try again.")
MSG_MISSING = N_("Enter your email and password.")

FormStr = Annotated[str, Form()]
NextStr = Annotated[str, Form(alias="next")]


def login_throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = state.login_throttle = LoginThrottle()
    return throttle


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_form(
    request: Request,
    *,
    email: str = "",
    next_path: str = HOME,
    error: str | None = None,
    retry_minutes: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = anonymous_language(request)
    return render_html(
        request,
        "accounts/login.html",
        language,
        {
            "email": email,
            "next_path": next_path,
            "error": error,
            "retry_minutes": retry_minutes,
        },
        status_code=status_code,
    )


def _csrf_failed(request: Request, language: str) -> HTMLResponse:
    return error_page(request, 403, text=ErrorText(SERVER_ERROR.title, MSG_CSRF), language=language)


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(
    request: Request, state: StateDep, next_path: Annotated[str, Query(alias="next")] = HOME
) -> Response:
    target = safe_next(next_path, HOME)
    if read_session(request).user_id is not None:
        try:
            console_user(request, state)
        except ConsoleRedirect:
            pass  # the session has ended (or has no workspace): sign in again
        else:
            return RedirectResponse(target, status_code=303)
    return _login_form(request, next_path=target)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_submit(
    request: Request,
    state: StateDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next_path: NextStr = HOME,
) -> Response:
    session = read_session(request)
    target = safe_next(next_path, HOME)
    if not session.csrf_matches(csrf_token):
        session.csrf = SessionData().csrf
        return _login_form(request, email=email, next_path=target, error=MSG_CSRF, status_code=403)
    if not email.strip() or not password:
        return _login_form(
            request, email=email, next_path=target, error=MSG_MISSING, status_code=400
        )
    throttle = login_throttle(request)
    address = _client_address(request)
    wait = throttle.retry_after(email, address)
    if wait > 0:
        return _login_form(
            request,
            email=email,
            next_path=target,
            retry_minutes=max(1, math.ceil(wait / 60)),
            status_code=429,
        )
    chosen = session.language
    with state.db.session() as s:
        user = authenticate(s, email, password)
        if user is not None:
            acting_as(s, Who(user.email, "console", user.id, address))
            if chosen and normalize_language(chosen) and chosen != user.language:
                set_language(s, user.id, chosen)
            signed_in = SessionData(
                user_id=user.id, password_fp=password_fingerprint(user), language=user.language
            )
    if user is None:
        throttle.record_failure(email, address)
        return _login_form(
            request, email=email, next_path=target, error=MSG_BAD_LOGIN, status_code=401
        )
    throttle.reset(email, address)
    # A new session (and CSRF token) on sign-in, so a planted cookie cannot be ridden.
    response = RedirectResponse(target, status_code=303)
    write_session(request, response, signed_in)
    return response


@router.post("/logout", dependencies=[Depends(public)])
def logout(request: Request, csrf_token: FormStr = "") -> Response:
    session = read_session(request)
    if not session.csrf_matches(csrf_token):
        return _csrf_failed(request, normalize_language(session.language) or "zh-CN")
    response = RedirectResponse("/login", status_code=303)
    clear_session(request, response)
    return response


@router.post("/language", dependencies=[Depends(public)])
def choose_language(
    request: Request,
    state: StateDep,
    lang: FormStr = "",
    csrf_token: FormStr = "",
    next_path: NextStr = "/",
) -> Response:
    session = read_session(request)
    language = normalize_language(lang)
    if not session.csrf_matches(csrf_token):
        return _csrf_failed(request, language or "zh-CN")
    if language is not None:
        session.language = language
        if session.user_id is not None:
            with state.db.session() as s:
                user = s.get(User, session.user_id)
                # Only a session that is still valid (same password) speaks for the user.
                if user is not None and password_fingerprint(user) == session.password_fp:
                    acting_as(s, Who(user.email, "console", user.id, client_ip(request)))
                    set_language(s, user.id, language)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    write_session(request, response, session)
    return response


@router.post("/workspace")
def switch_workspace(
    request: Request,
    user: Annotated[ConsoleUser, Depends(require_page(Permission.USE_ACCOUNT))],
    workspace_id: FormStr = "",
    csrf_token: FormStr = "",
    next_path: NextStr = HOME,
) -> Response:
    if not user.session.csrf_matches(csrf_token):
        return _csrf_failed(request, user.language)
    chosen = None
    if workspace_id.isdigit():
        wanted = int(workspace_id)
        chosen = next((m for m in user.memberships if m.workspace.id == wanted), None)
    if chosen is None:
        raise NotFound("you are not a member of that workspace", "workspace_id")
    user.session.workspace_id = chosen.workspace.id
    response = RedirectResponse(safe_next(next_path, HOME), status_code=303)
    write_session(request, response, user.session)
    return response


@router.get("/no-access", response_class=HTMLResponse, dependencies=[Depends(public)])
def no_access(request: Request) -> Response:
    """Where a signed-in user who belongs to no workspace (yet) is sent."""
    session = read_session(request)
    if session.user_id is None:
        return RedirectResponse("/login", status_code=303)
    language = normalize_language(session.language) or "zh-CN"
    return render_html(request, "accounts/no_access.html", language, {}, status_code=403)
