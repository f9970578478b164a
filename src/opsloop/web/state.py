"""What a running server holds: settings, the two stores, the writer and the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsloop.analytics.cache import QueryCache
from opsloop.db import Database
from opsloop.events import EventStore
from opsloop.events.writer import GroupCommitWriter
from opsloop.ingest.service import IngestService
from opsloop.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    store: EventStore
    writer: GroupCommitWriter
    ingest: IngestService
    query_cache: QueryCache = field(default_factory=QueryCache)

    def close(self) -> None:
        self.writer.close()
        self.store.close()
        self.db.close()
