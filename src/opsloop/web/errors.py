"""One place that turns errors into answers: JSON `{"error": {"code", "message", "field"}}` for
the REST API, the ingestion endpoints and any client that does not ask for HTML; a styled page in
the reader's language inside the console (see `error_pages.wants_html`)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsloop.errors import OpsLoopError, field_of, most_specific
from opsloop.web.console_user import ConsoleRedirect
from opsloop.web.error_pages import error_page, wants_html
from opsloop.web.responses import OrjsonResponse

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorAnswer(BaseModel):
    """The body of every 4xx/5xx answer."""

    error: ErrorDetail


# Documented on every route (OpenAPI): any of them may answer with these.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorAnswer, "description": description}
    for status, description in (
        (400, "Invalid input; `field` names what is wrong"),
        (401, "No or unknown key or token"),
        (403, "Not allowed for this role"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body or batch too large"),
        (415, "Unsupported media type"),
        (422, "Invalid parameters"),
        (429, "Too many attempts; retry later"),
        (503, "The store is busy or a commit failed; retry"),
    )
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page or the JSON body for one error."""
    if wants_html(request):
        try:
            page = error_page(request, status, detail=message, field=field)
            page.headers.update(headers or {})
            return page
        except Exception:  # a page that cannot be drawn must not hide the error itself
            log.exception("the error page failed; answering with JSON")
    return OrjsonResponse(error_body(code, message, field), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConsoleRedirect)
    async def _redirect(_: Request, exc: ConsoleRedirect) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(OpsLoopError)
    async def _domain(request: Request, exc: OpsLoopError) -> Response:
        return error_answer(request, exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = most_specific(exc.errors())
        field = field_of(first.get("loc", ()), exc.body, skip=("body", "query"))
        message = str(first.get("msg", "invalid request"))
        return error_answer(request, 422, "invalid_input", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_answer(
            request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        message = "an unexpected error happened; it has been logged"
        return error_answer(request, 500, "internal_error", message)
