"""Errors inside the console as pages: a styled page in the reader's language with a way back,
where the REST API and the ingestion endpoints answer with the JSON error body."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from opsloop.web.console_user import anonymous_language
from opsloop.web.i18n import DEFAULT_LANGUAGE, N_, translations
from opsloop.web.templating import CONSOLE_TAG, SECURITY_HEADERS, environment

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


@dataclass(frozen=True, slots=True)
class ErrorText:
    title: str  # message ids
    message: str


BAD_REQUEST = ErrorText(
    N_("This request is not valid"),
    N_("Part of this address is not valid. Check the link or the values you entered."),
)
SERVER_ERROR = ErrorText(
    N_("Something went wrong"),
    N_("An unexpected error happened on the server. It has been logged; please try again later."),
)
ERROR_TEXTS = {
    400: BAD_REQUEST,
    401: ErrorText(N_("Please sign in"), N_("Sign in to the console to see this page.")),
    403: ErrorText(
        N_("No access"),
        N_("Your role in this workspace does not allow this. Ask an administrator if you need it."),
    ),
    404: ErrorText(
        N_("Page not found"),
        N_("There is no page at this address. The link may be wrong or out of date."),
    ),
    405: ErrorText(
        N_("This request is not valid"), N_("This page cannot be used with this kind of request.")
    ),
    422: BAD_REQUEST,
    429: ErrorText(N_("Too many requests"), N_("Please wait a moment and try again.")),
    500: SERVER_ERROR,
    503: ErrorText(N_("The server is busy"), N_("Please try again in a moment.")),
}
MSG_BAD_FIELD = N_("The value of “%(field)s” is not valid.")
MSG_BACK = N_("Back to the console")
MSG_SIGN_IN = N_("Sign in")


def wants_html(request: Request) -> bool:
    """Whether an error should be a page: the browser asks for HTML (a navigation, not a fetch or
    an SDK), outside /api/, on a console route (see `templating.page_router`) or on no route."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    if request.url.path.startswith(API_PREFIX):
        return False
    route = request.scope.get("route")
    return route is None or CONSOLE_TAG in getattr(route, "tags", ())


def _language(request: Request) -> str:
    try:
        return anonymous_language(request)
    except Exception:  # the session itself may be what failed
        return DEFAULT_LANGUAGE


def error_page(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    field: str | None = None,
    text: ErrorText | None = None,
    language: str | None = None,
) -> HTMLResponse:
    """The error page for `status`. `detail` (a domain message, translated when the catalogs know
    it) is shown for 4xx answers only: a 5xx page never says more than that it happened. The way
    back is the console's home (which sends a signed-out reader to the sign-in form)."""
    language = language or _language(request)
    text = text or ERROR_TEXTS.get(status) or (SERVER_ERROR if status >= 500 else BAD_REQUEST)
    gettext = translations(language).gettext
    lines: list[str] = []
    if status < 500:
        if field:
            lines.append(gettext(MSG_BAD_FIELD) % {"field": field})
        if detail and detail != _phrase(status):
            lines.append(gettext(detail))
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        back, back_label = f"/login?next={quote(target, safe='')}", MSG_SIGN_IN
    else:
        back, back_label = "/", MSG_BACK
    html = (
        environment(language)
        .get_template("error.html")
        .render(
            {
                "lang": language,
                "status": status,
                "title": text.title,
                "message": text.message,
                "details": lines,
                "back": back,
                "back_label": back_label,
            }
        )
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None
