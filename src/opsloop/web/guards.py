"""Guards that apply to every route before it runs.

An id in a path is a 64-bit integer in every table; a path naming a larger number names nothing
that exists, so it is answered 404 here instead of reaching a database driver that cannot bind it
(SQLite and PostgreSQL both refuse such a parameter with an error, not an empty result).
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from opsloop.web.errors import error_body

MAX_ID = 2**63 - 1


def _too_large(segment: str) -> bool:
    digits = segment[1:] if segment.startswith("-") else segment
    return digits.isascii() and digits.isdigit() and len(digits) >= 19 and int(digits) > MAX_ID


class PathIdGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(_too_large(p) for p in scope["path"].split("/")):
            body = orjson.dumps(error_body("not_found", "no such id: ids are 64-bit integers"))
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
