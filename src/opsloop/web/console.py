"""The console's pages (server-rendered), gathered into one router, and its static files."""

from __future__ import annotations

import mimetypes

from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from opsloop.accounts.account_pages import router as account_router
from opsloop.accounts.member_pages import router as members_router
from opsloop.accounts.pages import HOME
from opsloop.accounts.pages import router as accounts_router
from opsloop.audit.pages import router as audit_router
from opsloop.events.pages import router as events_router
from opsloop.explorers.metric_pages import router as metrics_router
from opsloop.explorers.pages import router as explorers_router
from opsloop.explorers.segment_pages import router as segments_router
from opsloop.explorers.spend_pages import router as spend_router
from opsloop.insights.pages import router as insights_router
from opsloop.overview.pages import router as overview_router
from opsloop.users.pages import router as users_router
from opsloop.web.access import public
from opsloop.web.session import read_session
from opsloop.web.templating import STATIC_DIR, page_router
from opsloop.workspaces.pages import router as workspaces_router
from opsloop.workspaces.settings_pages import router as settings_router

router = page_router()
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


@router.get("/", dependencies=[Depends(public)])
def home(request: Request) -> RedirectResponse:
    """Signed in: the overview; signed out: the sign-in form."""
    target = HOME if read_session(request).user_id is not None else "/login"
    return RedirectResponse(target, status_code=303)


@router.get("/static/{name:path}", dependencies=[Depends(public)])
def static_file(name: str) -> FileResponse:
    """The console's own CSS, JS and images; nothing is loaded from elsewhere."""
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise HTTPException(404, "no such static file")
    media_type = STATIC_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


router.include_router(accounts_router)
router.include_router(events_router)
router.include_router(segments_router)  # before /analysis/{kind}
router.include_router(explorers_router)
router.include_router(spend_router)  # before /metrics/{key}
router.include_router(metrics_router)
router.include_router(insights_router)
router.include_router(overview_router)
router.include_router(users_router)
router.include_router(workspaces_router)
router.include_router(account_router)
router.include_router(members_router)
router.include_router(settings_router)
router.include_router(audit_router)
