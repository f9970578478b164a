"""What the console's settings forms share: the CSRF check, turning a domain error into a message
in the reader's language, and the notice shown after a change (`?done=`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse

from opsloop.errors import OpsLoopError
from opsloop.web.console_user import ConsoleUser
from opsloop.web.error_pages import SERVER_ERROR, ErrorText, error_page
from opsloop.web.i18n import N_, translate

MSG_CSRF = N_("This form has expired. Please try again.")
MSG_INVALID_FIELD = N_("The value of “%(field)s” is not valid.")
MSG_NOT_FOUND = N_("It is no longer there: someone may have changed it meanwhile.")


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


def problem_of(
    exc: OpsLoopError, language: str, known: Mapping[tuple[str, str | None], str]
) -> Problem:
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
