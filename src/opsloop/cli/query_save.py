"""`opsloop query KIND ... --save-as NAME`: the persons a query lists (a funnel step's dropped
users, a rule's members) saved as a static segment, through the running server or on the stores
themselves; prints the segment as `POST /api/v1/segments` answers it."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from rich.text import Text

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.segments.saving import save_query_persons
from opsloop.analytics.segments.schemas import SegmentPublic
from opsloop.analytics.segments.service import cohort_resolver
from opsloop.audit import acting_as, cli_who
from opsloop.cli.common import out_console
from opsloop.cli.query import JSON_OPTIONS, local_store, post_to_server
from opsloop.db import Database
from opsloop.discovery import running_server
from opsloop.settings import Settings
from opsloop.workspaces.service import WorkspaceRef

SEGMENTS_PATH = "/api/v1/segments"


def save_bytes(
    settings: Settings,
    db: Database,
    ws: WorkspaceRef,
    query: BaseModel,
    name: str,
    description: str = "",
) -> bytes:
    """The saved segment as JSON bytes, as the REST door answers."""
    address = running_server(settings)
    if address is not None:
        body = {
            "name": name,
            "description": description,
            "from_query": query.model_dump(mode="json"),
        }
        return post_to_server(address, db, ws, SEGMENTS_PATH, body)
    with local_store(settings) as store, db.session() as s:
        acting_as(s, cli_who())  # the audit log names the operating-system user
        ctx = QueryContext(ws.id, ws.timezone, DuckDbEngine(store), cohort_resolver(s, ws.id))
        info = save_query_persons(s, ctx, name, query, description=description)
        public = SegmentPublic.model_validate(info.to_dict())
    return orjson.dumps(public.model_dump(mode="json"), option=JSON_OPTIONS)


def print_saved(segment: dict[str, Any]) -> None:
    out_console.print(
        Text(f"saved segment {segment['id']} {segment['name']!r}: {segment['size']:,} persons")
    )
