"""Running a query: validate, answer from the cache when the data has not changed, else execute."""

from __future__ import annotations

import time
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError

from opsloop.analytics.cache import QueryCache
from opsloop.analytics.context import QueryContext
from opsloop.analytics.registry import KINDS, QUERY_ADAPTER
from opsloop.errors import InvalidInput


def parse_query(payload: Any) -> BaseModel:
    """A request dict → its typed query; errors name the field (`series[0].math`)."""
    if isinstance(payload, dict) and payload.get("kind") not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"unknown query kind {payload.get('kind')!r}; known: {known}", "kind")
    try:
        query: BaseModel = QUERY_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]][1:]  # drop the discriminator tag
        field = ".".join(loc) or None
        raise InvalidInput(str(first["msg"]), field) from None
    return query


def run_query(
    ctx: QueryContext, query: BaseModel, cache: QueryCache | None = None
) -> dict[str, Any]:
    kind = KINDS[query.kind]  # type: ignore[attr-defined]
    key = None
    if cache is not None:
        key = cache.key(
            ctx.workspace_id,
            ctx.engine.data_version,
            ctx.dialect.name,
            query.model_dump(mode="json"),
        )
        hit = cache.get(key)
        if hit is not None:
            return {**hit, "cached": True}
    started = time.perf_counter()
    try:
        answer = kind.run(ctx, query)
    except (OverflowError, duckdb.OutOfRangeException, duckdb.ConversionException) as exc:
        # Values the engine cannot represent (dates far outside the calendar, huge offsets).
        raise InvalidInput(f"the query's values are out of range: {exc}", None) from None
    answer["seconds"] = round(time.perf_counter() - started, 4)
    if cache is not None and key is not None:
        cache.put(key, answer)
    return {**answer, "cached": False}
