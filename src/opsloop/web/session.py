"""Console sessions: a signed cookie (HttpOnly, SameSite=Lax) holding who is signed in, the CSRF
token of their forms, their workspace and, before sign-in, their language.

The cookie is signed with `settings.secret_key`, or with a random key kept in the data folder
(`secret.key`, mode 0600) so that sessions survive a restart.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from opsloop.settings import Settings

SESSION_COOKIE = "opsloop_session"
SESSION_MAX_AGE = 14 * 24 * 3600
SECRET_FILE = "secret.key"


def _new_csrf() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class SessionData:
    """What the cookie carries. `password_fp` ends the session when the password changes."""

    csrf: str = field(default_factory=_new_csrf)
    user_id: int | None = None
    password_fp: str | None = None
    workspace_id: int | None = None
    language: str | None = None

    @classmethod
    def from_dict(cls, raw: Any) -> SessionData:
        if not isinstance(raw, dict) or not isinstance(raw.get("csrf"), str):
            return cls()
        uid, ws, fp, lang = (
            raw.get(k) for k in ("user_id", "workspace_id", "password_fp", "language")
        )
        return cls(
            csrf=raw["csrf"],
            user_id=uid if isinstance(uid, int) else None,
            password_fp=fp if isinstance(fp, str) else None,
            workspace_id=ws if isinstance(ws, int) else None,
            language=lang if isinstance(lang, str) else None,
        )

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf, str(submitted))


def load_secret(settings: Settings) -> str:
    """The signing key: from settings, else the data folder's secret.key (created once, 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty; delete it to make a new one")
    return secret


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    ser: URLSafeTimedSerializer | None = getattr(state, "console_session_serializer", None)
    if ser is None:
        ser = URLSafeTimedSerializer(
            load_secret(state.opsloop.settings), salt="opsloop.console.session"
        )
        state.console_session_serializer = ser
    return ser


def read_session(request: Request) -> SessionData:
    """The request's session, or a fresh anonymous one when there is none or it is not valid."""
    cached: SessionData | None = request.scope.get("opsloop.session")
    if cached is not None:
        return cached
    data = SessionData()
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            data = SessionData.from_dict(_serializer(request).loads(raw, max_age=SESSION_MAX_AGE))
        except BadSignature:
            data = SessionData()
    request.scope["opsloop.session"] = data
    return data


def write_session(request: Request, response: Response, data: SessionData) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(request).dumps(asdict(data)),
        max_age=SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
