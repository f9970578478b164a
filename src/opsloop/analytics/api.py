"""`POST /api/v1/query`: every analysis kind through one endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header

from opsloop.accounts.permissions import Permission
from opsloop.analytics.catalog.service import load_definitions
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.registry import AnyQuery
from opsloop.analytics.segments.service import cohort_resolver
from opsloop.analytics.service import run_query
from opsloop.web.access import Actor, require
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.post("/query", summary="Run an analysis (trends, retention, funnel, ...)")
def post_query(
    query: Annotated[AnyQuery, Body()],
    state: StateDep,
    token: Annotated[Actor, Depends(require(Permission.READ_DATA))],
    cache_control: Annotated[
        str | None, Header(description="`no-cache`: compute the answer afresh")
    ] = None,
) -> dict[str, Any]:
    """The request's `kind` selects the analysis; each kind's fields are in the schema. Answers
    carry `cached: true` when served from the cache (same query, no new data since); a request
    with `Cache-Control: no-cache` is computed afresh. Segment rules may name the workspace's
    saved segments (`{"cohort": id}`)."""
    ws = token.workspace
    refresh = "no-cache" in (cache_control or "").lower()
    with state.db.session() as s:
        segments = cohort_resolver(s, ws.id)
        definitions = load_definitions(s, ws.id)
        ctx = QueryContext(ws.id, ws.timezone, DuckDbEngine(state.store), segments, definitions)
        return run_query(ctx, query, state.query_cache, refresh=refresh)
