"""Rendering console pages: one Jinja2 environment per language, with that language's gettext,
the formatting helpers, and the headers that keep a page from loading anything from elsewhere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from opsloop.web import formatting
from opsloop.web.console_user import ConsoleUser
from opsloop.web.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    format_compact,
    format_date,
    format_day,
    format_day_range,
    format_time,
    translations,
)
from opsloop.web.session import SessionData, read_session, write_session

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# On every console route, so that their errors are answered with a page (web/error_pages.py).
# A route carries the tags of the router that declares it, not of the routers including it.
CONSOLE_TAG = "console"

ROLE_NAMES = {
    "owner": N_("Owner"),
    "admin": N_("Admin"),
    "operator": N_("Operator"),
    "analyst": N_("Analyst"),
    "viewer": N_("Viewer"),
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers and times in the reader's language, times in the workspace's time zone."""

    language: str
    timezone: str = "UTC"

    def number(self, value: float, digits: int | None = None) -> str:
        """1,234.5; `digits` fixes the decimals (money in a table: 2)."""
        return formatting.number(value, self.language, digits)

    def compact(self, value: float) -> str:
        return format_compact(value, self.language)

    def percent(self, value: float | None, digits: int = 1) -> str:
        return formatting.percent(value, self.language, digits)

    def change(self, value: float | None) -> str:
        """A relative change with its sign: +5.0% / −12.3%."""
        return formatting.change(value, self.language)

    def money(self, value: float | None) -> str:
        return formatting.money(value, self.language)

    def duration(self, seconds: float | None) -> str:
        return formatting.duration(seconds, self.language)

    def time(self, value: datetime, fmt: str = "medium") -> str:
        return format_time(value, self.language, self.timezone, fmt)

    def day(self, value: date) -> str:
        """A short day: 11月1日 / Nov 1."""
        return format_day(value, self.language)

    def full_day(self, value: date) -> str:
        """A day with its year: 2026年11月1日 / Nov 1, 2026."""
        return format_date(value, self.language)

    def day_range(self, first: date, last: date) -> str:
        """Both days included: 2026年10月30日 – 11月28日 / Oct 30 – Nov 28, 2026."""
        return format_day_range(first, last, self.language)


def page_router() -> APIRouter:
    """The router of a feature's console pages: left out of the OpenAPI schema and tagged as
    console routes."""
    return APIRouter(include_in_schema=False, tags=[CONSOLE_TAG])


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["static"] = static_url
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    return env


@cache
def static_url(name: str) -> str:
    """The URL of a static file, with a content hash so browsers refetch it after a change."""
    path = (STATIC_DIR / name).resolve()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def render_fragment(template: str, language: str, context: dict[str, Any]) -> str:
    """A piece of a page (rows for the live table) in the given language."""
    return environment(language).get_template(template).render({"lang": language, **context})


def render_html(
    request: Request,
    template: str,
    language: str,
    context: dict[str, Any],
    *,
    session: SessionData | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page and re-issue the session cookie (it carries the CSRF token of its forms)."""
    session = session or read_session(request)
    env = environment(language if language in LANGUAGES else "zh-CN")
    html = env.get_template(template).render(
        {
            "lang": language,
            "csrf_token": session.csrf,
            "request_path": request.url.path,
            "fmt": Formatter(language),
            **context,
        }
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    write_session(request, response, session)
    return response


def render_page(
    request: Request,
    user: ConsoleUser,
    template: str,
    context: dict[str, Any],
    *,
    nav: str,
    status_code: int = 200,
) -> HTMLResponse:
    """A signed-in page: the top bar, the navigation and the current workspace's formatting."""
    return render_html(
        request,
        template,
        user.language,
        {
            "user": user,
            "workspace": user.workspace,
            "nav": nav,
            "role_names": ROLE_NAMES,
            "fmt": Formatter(user.language, user.workspace.timezone),
            **context,
        },
        session=user.session,
        status_code=status_code,
    )
