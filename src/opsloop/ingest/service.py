"""Binds parsed events to a workspace and hands them to the group-commit writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from opsloop.accounts.permissions import Permission, allows
from opsloop.db import Database
from opsloop.errors import Forbidden, Unauthorized
from opsloop.events import IncomingEvent, WriteResult
from opsloop.events.store import events_to_arrow
from opsloop.events.writer import GroupCommitWriter
from opsloop.ingest.common import ParsedEvent
from opsloop.settings import Settings
from opsloop.workspaces.service import (
    WorkspaceRef,
    resolve_api_token,
    workspace_for_ingest_key,
)

KEY_CACHE_SECONDS = 60.0


class IngestService:
    """The single way events enter the store from outside (and from OpsLoop itself)."""

    def __init__(self, settings: Settings, db: Database, writer: GroupCommitWriter) -> None:
        self.settings = settings
        self.db = db
        self.writer = writer
        self.max_future = timedelta(seconds=settings.max_future_seconds)
        self._keys: dict[str, tuple[float, WorkspaceRef]] = {}
        self._lock = threading.Lock()

    def workspace_for_key(self, key: str | None, *, allow_api_token: bool = False) -> WorkspaceRef:
        """The workspace of an ingest key (cached briefly); an unknown key is a 401."""
        if not key:
            raise Unauthorized("no ingest key was sent", field="api_key")
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(key)
        if hit is not None and now - hit[0] < KEY_CACHE_SECONDS:
            return hit[1]
        with self.db.session() as s:
            ws = workspace_for_ingest_key(s, key)
            if ws is None and allow_api_token:
                tok = resolve_api_token(s, key)
                if tok is not None and not allows(tok.role, Permission.IMPORT_EVENTS):
                    raise Forbidden(f"the {tok.role} role may not send events", "Authorization")
                ws = tok.workspace if tok is not None else None
        if ws is None:
            raise Unauthorized("unknown ingest key", field="api_key")
        with self._lock:
            self._keys[key] = (now, ws)
        return ws

    def forget_keys(self) -> None:
        """Drop the cached keys, after a key is rotated or a token revoked, so that the old one
        stops working at once in this process (others forget it within KEY_CACHE_SECONDS)."""
        with self._lock:
            self._keys.clear()

    async def ingest(
        self, workspace: WorkspaceRef, events: Sequence[ParsedEvent], source: str
    ) -> WriteResult:
        bound = [
            IncomingEvent(
                workspace.id,
                e.uuid,
                e.event,
                e.distinct_id,
                e.timestamp,
                e.properties,
                source,
                e.person_ops,
            )
            for e in events
        ]
        # Laid out here, on the event loop, while the writer thread commits earlier groups.
        return await self.writer.write(bound, events_to_arrow(bound, datetime.now(UTC)))

    def ingest_sync(
        self, workspace_id: int, events: Sequence[ParsedEvent], source: str
    ) -> WriteResult:
        """For OpsLoop's own actions (principle 1: they become events like any other)."""
        bound = [
            IncomingEvent(
                workspace_id,
                e.uuid,
                e.event,
                e.distinct_id,
                e.timestamp,
                e.properties,
                source,
                e.person_ops,
            )
            for e in events
        ]
        return self.writer.submit(bound).result()
