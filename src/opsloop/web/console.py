"""The console's pages (server-rendered), gathered into one router."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
