"""Bulk import through a running server (it owns the event store)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["import"])
