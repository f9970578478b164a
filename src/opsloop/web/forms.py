"""What the console's settings forms share: the CSRF check, turning a domain error into a message
in the reader's language, the notice shown after a change (`?done=`), and `submit`, which runs a
form's POST (CSRF, the audited change, the form again on a domain error)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from opsloop.errors import OpsLoopError
from opsloop.web.access import work_as
from opsloop.web.console_user import ConsoleUser
from opsloop.web.error_pages import SERVER_ERROR, ErrorText, error_page
from opsloop.web.i18n import N_, translate
from opsloop.web.state import AppState

MSG_CSRF = N_("This form has expired. Please try again.")
MSG_INVALID_FIELD = N_("The value of “%(field)s” is not valid.")
MSG_NOT_FOUND = N_("It is no longer there: someone may have changed it meanwhile.")
T = TypeVar("T")
Problems = Mapping[tuple[str, str | None], str]  # message ids by (error code, field)
# Shows the form again with a problem and the answer's status.
Shower = Callable[["Problem", int], Response]


@dataclass(frozen=True, slots=True)
class Problem:
    """A form's error, translated, and the field to mark."""

    message: str
    field: str | None


def csrf_failed(request: Request, user: ConsoleUser, token: str) -> HTMLResponse | None:
    """The "form expired" page when the form's CSRF token is not the session's, else None."""
    if user.session.csrf_matches(token):
        return None
    return error_page(
        request, 403, text=ErrorText(SERVER_ERROR.title, MSG_CSRF), language=user.language
    )


def problem_of(exc: OpsLoopError, language: str, known: Problems) -> Problem:
    """The message for a domain error: `known[(code, field)]` (a message id), else a generic
    one naming the field."""
    message = known.get((exc.code, exc.field))
    if message is None:
        if exc.code == "not_found":
            message = MSG_NOT_FOUND
        else:
            text = translate(language, MSG_INVALID_FIELD) % {"field": exc.field or "?"}
            return Problem(text, exc.field)
    return Problem(translate(language, message), exc.field)


def notice(done: str | None, notices: Mapping[str, str], language: str) -> str | None:
    """The translated notice for `?done=<key>` after a redirect, None for an unknown key."""
    message = notices.get(done or "")
    return translate(language, message) if message else None


def see_other(url: str) -> Callable[[object], RedirectResponse]:
    """`done` for `submit`: go to `url` (a 303, so that reloading does not post again)."""
    return lambda _result: RedirectResponse(url, status_code=303)


def submit(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    csrf_token: str,
    change: Callable[[Session], T],
    *,
    problems: Problems,
    show: Shower,
    done: Callable[[T], Response],
    forget_keys: bool = False,
) -> Response:
    """A console form's POST: the "form expired" page when its CSRF token is not the session's;
    else `change` runs in one transaction that the audit log attributes to the user. A domain
    error shows the form again, `show(problem, status)`, its message from `problems` (see
    `problem_of`); success answers
    `done(result)`, after the ingestion keys are forgotten when `forget_keys` (a change to who
    may call with which token)."""
    if (expired := csrf_failed(request, user, csrf_token)) is not None:
        return expired
    try:
        with work_as(state, user.who) as s:
            result = change(s)
    except OpsLoopError as exc:
        return show(problem_of(exc, user.language, problems), exc.status)
    if forget_keys:
        state.ingest.forget_keys()
    return done(result)
