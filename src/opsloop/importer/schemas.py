"""Request and answer models of the import API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ImportBatchAnswer(BaseModel):
    accepted: int
    duplicates: int


class ImportRunPublic(BaseModel):
    """One bulk import and how its rows reconciled (read = accepted + quarantined + duplicates)."""

    id: int
    source: str
    format: str
    read: int
    accepted: int
    quarantined: int
    duplicates: int
    quarantine_file: str | None
    created_at: datetime
    finished_at: datetime | None
