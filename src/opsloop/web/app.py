"""The application factory: opens the stores, starts the writer, mounts every router."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from opsloop import __version__
from opsloop.accounts.api import router as accounts_router
from opsloop.analytics.api import router as analytics_router
from opsloop.analytics.catalog.api import router as catalog_router
from opsloop.analytics.segments.api import router as segments_router
from opsloop.audit.api import router as audit_router
from opsloop.db import open_database
from opsloop.events import open_event_store
from opsloop.events.api import router as events_router
from opsloop.events.writer import GroupCommitWriter
from opsloop.importer.api import router as import_router
from opsloop.ingest.api import OPENAPI_SCHEMAS
from opsloop.ingest.api import router as ingest_router
from opsloop.ingest.cors import IngestCors
from opsloop.ingest.service import IngestService
from opsloop.insights.api import router as insights_router
from opsloop.properties.api import router as properties_router
from opsloop.settings import Settings
from opsloop.web.access import public
from opsloop.web.console import router as console_router
from opsloop.web.errors import ERROR_RESPONSES, install_error_handlers
from opsloop.web.guards import PathIdGuard
from opsloop.web.responses import OrjsonResponse
from opsloop.web.state import AppState
from opsloop.workspaces.api import router as workspaces_router

log = logging.getLogger(__name__)


def open_state(settings: Settings) -> AppState:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    store = open_event_store(settings.event_store_path)
    writer = GroupCommitWriter(
        store, mode=settings.writer_mode, commit_interval_ms=settings.commit_interval_ms
    )
    return AppState(settings, db, store, writer, IngestService(settings, db, writer))


def create_app(settings: Settings, *, announce: dict[str, Any] | None = None) -> FastAPI:
    """`announce`, when given, is written to the data folder's server.json while serving, so the
    CLI on this machine can send its work through this server (it owns the event store)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = open_state(settings)
        app.state.opsloop = state
        if announce is not None:
            settings.server_file.write_text(json.dumps({**announce, "pid": os.getpid()}))
        try:
            yield
        finally:
            if announce is not None:
                settings.server_file.unlink(missing_ok=True)
            state.close()

    app = FastAPI(
        title="OpsLoop",
        version=__version__,
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        responses=ERROR_RESPONSES,
        # /docs is served below from OpsLoop's own copy of Swagger UI (FastAPI's loads it from a
        # CDN); ReDoc has no local copy, so it is off.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    # Browser SDKs post from the customer's own site: the ingestion paths answer other origins.
    app.add_middleware(IngestCors)
    app.add_middleware(PathIdGuard)

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public)])
    def api_docs() -> HTMLResponse:
        """The OpenAPI schema in Swagger UI, every file served by OpsLoop (works offline)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="OpsLoop API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
            # No badge from the online validator (a request to another site).
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False, dependencies=[Depends(public)])
    def api_docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/healthz", tags=["meta"], summary="Liveness", dependencies=[Depends(public)])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(ingest_router)
    app.include_router(events_router)
    app.include_router(import_router)
    app.include_router(analytics_router)
    app.include_router(catalog_router)
    app.include_router(insights_router)
    app.include_router(accounts_router)
    app.include_router(workspaces_router)
    app.include_router(audit_router)
    app.include_router(segments_router)
    app.include_router(properties_router)
    app.include_router(console_router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(OPENAPI_SCHEMAS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
