"""Ingestion routes. Each wire format has its own router; this module gathers them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import TypeAdapter

from opsloop.ingest.common import parse_json
from opsloop.ingest.native import IngestAnswer, NativeBatch, NativeEvent, parse_native
from opsloop.web.access import ingest_key_only
from opsloop.web.body import read_decoded_body
from opsloop.web.deps import StateDep, bearer
from opsloop.web.responses import OrjsonResponse

# Authenticated by the ingest key (or an API token) inside each route; nothing here reads data.
router = APIRouter(tags=["ingestion"], dependencies=[Depends(ingest_key_only)])

_native_schema = TypeAdapter(NativeEvent | list[NativeEvent] | NativeBatch).json_schema(
    ref_template="#/components/schemas/{model}", by_alias=True
)
# The request is parsed by hand (for field-level errors and speed); these models document it.
OPENAPI_SCHEMAS: dict[str, Any] = _native_schema.pop("$defs", {})


@router.post(
    "/api/v1/events",
    response_model=IngestAnswer,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": _native_schema}},
            "required": True,
        }
    },
    summary="Send events in OpsLoop's native format",
)
async def post_events(request: Request, state: StateDep) -> OrjsonResponse:
    """One event, a list of events, or `{"api_key", "sent_at", "batch": [...]}`.

    Authenticate with `Authorization: Bearer <ingest key or API token>` or `api_key` in the
    body. A 200 answer means every event is committed; ids already stored count as duplicates.
    """
    s = state.settings
    now = datetime.now(UTC)
    payload = parse_json(await read_decoded_body(request, s.max_body_bytes))
    body_key, events = parse_native(payload, now, state.ingest.max_future, s.max_batch_events)
    ws = state.ingest.workspace_for_key(bearer(request) or body_key, allow_api_token=True)
    result = await state.ingest.ingest(ws, events, "native")
    # A response, not a dict: IngestAnswer documents it, and this hot path skips its validation.
    answer = {"status": "ok", "accepted": result.accepted, "duplicates": result.duplicates}
    return OrjsonResponse(answer)


def _include_formats() -> None:
    from opsloop.ingest import posthog, segment, sensors

    for module in (posthog, segment, sensors):
        router.include_router(module.router)


_include_formats()
