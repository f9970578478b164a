"""Bulk import through a running server (it owns the event store), and the list of imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from opsloop.accounts.permissions import Permission
from opsloop.errors import UnsupportedMediaType
from opsloop.importer.batches import append_batch, read_batch
from opsloop.importer.schemas import ImportBatchAnswer, ImportRunPublic
from opsloop.importer.service import recent_runs
from opsloop.importer.sink import ARROW_STREAM
from opsloop.web.access import Actor, require
from opsloop.web.body import read_body
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["import"])

# A batch is bigger than a tracking request; the CLI sends about 16 MiB at a time.
MAX_BATCH_BYTES = 64 * 1024 * 1024


@router.post(
    "/import/batches",
    response_model=ImportBatchAnswer,
    summary="Append a batch of validated import rows",
    openapi_extra={
        "requestBody": {
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def post_import_batch(
    request: Request,
    state: StateDep,
    token: Annotated[Actor, Depends(require(Permission.IMPORT_EVENTS))],
) -> ImportBatchAnswer:
    """An Arrow IPC stream laid out as the events table (`opsloop import` sends these while a
    server runs). Rows whose uuid is already stored in the workspace count as duplicates."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != ARROW_STREAM:
        raise UnsupportedMediaType(f"send the batch as {ARROW_STREAM}", "Content-Type")
    table = read_batch(await read_body(request, MAX_BATCH_BYTES), token.workspace.id)
    result = await run_in_threadpool(append_batch, state.store, table)
    return ImportBatchAnswer(accepted=result.accepted, duplicates=result.duplicates)


@router.get("/imports", response_model=list[ImportRunPublic], summary="Recent bulk imports")
def list_imports(
    state: StateDep,
    token: Annotated[Actor, Depends(require(Permission.READ_DATA))],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[ImportRunPublic]:
    """The workspace's latest imports, newest first."""
    return [
        ImportRunPublic(
            id=r.id,
            source=r.source,
            format=r.format,
            read=r.read,
            accepted=r.accepted,
            quarantined=r.quarantined,
            duplicates=r.duplicates,
            quarantine_file=r.quarantine_file,
            created_at=r.created_at,
            finished_at=r.finished_at,
        )
        for r in recent_runs(state.db, token.workspace.id, limit)
    ]
