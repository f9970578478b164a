"""Sensors Data (神策)-compatible ingestion endpoints (wire format as the real SDK sends it)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ingestion"])
