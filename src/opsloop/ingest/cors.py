"""Cross-origin access to the ingestion endpoints, for the tracking SDKs that run in browsers.

A web page on the customer's own site (posthog-js, Segment's analytics.js, Sensors' web SDK)
posts to OpsLoop, which is another origin: the browser first asks with a preflight OPTIONS
request, and reads an answer only when it names the page's origin. posthog-js sends with
credentials ("include"), for which a wildcard origin is refused, so the page's own origin is
echoed, as PostHog does. This is safe because ingestion authenticates by the write key in the
request, never by a cookie, and answers nothing but an acknowledgement.

Only the ingestion paths get these headers: the REST API and the console stay same-origin.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where the SDKs send: PostHog, Segment, Sensors, and OpsLoop's own format.
INGEST_PATHS = frozenset(
    {
        "/capture",
        "/capture/",
        "/batch",
        "/batch/",
        "/e",
        "/e/",
        "/i/v0/e",
        "/i/v0/e/",
        "/sa",
        "/sa.gif",
        "/api/v1/events",
    }
)
INGEST_PREFIXES = ("/v1/",)
ALLOWED_METHODS = "GET, POST, OPTIONS"
# The headers the SDKs set themselves when the browser does not echo a list in the preflight.
DEFAULT_HEADERS = "Authorization, Content-Type, Content-Encoding, X-Requested-With"
PREFLIGHT_MAX_AGE = "86400"


def is_ingest_path(path: str) -> bool:
    return path in INGEST_PATHS or path.startswith(INGEST_PREFIXES)


class IngestCors:
    """ASGI middleware: answers preflights and labels answers on the ingestion paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ingest_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_origin_headers(origin)]
            await send(message)

        await self.app(scope, receive, labelled)

    @staticmethod
    async def _preflight(origin: bytes, headers: dict[bytes, bytes], send: Send) -> None:
        asked = headers.get(b"access-control-request-headers")
        answer = [
            *_origin_headers(origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", asked or DEFAULT_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b""})


def _origin_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]
