"""Running a query: validate, answer from the cache when nothing it read has changed, else execute.

Before a query is keyed and run, its defaults that depend on the day are resolved (`as_of`
defaults to today in the workspace's time zone), so a cached answer never outlives its day. An
answer that used saved segments keeps their versions and is served only while they still hold.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError

from opsloop.analytics.cache import CachedAnswer, QueryCache
from opsloop.analytics.context import QueryContext
from opsloop.analytics.registry import KINDS, QUERY_ADAPTER
from opsloop.analytics.segments.compiler import Cohort, SavedSegments
from opsloop.errors import InvalidInput, field_of, most_specific


def parse_query(payload: Any) -> BaseModel:
    """A request dict → its typed query; errors name the field (`series[0].math`)."""
    if isinstance(payload, dict) and payload.get("kind") not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"unknown query kind {payload.get('kind')!r}; known: {known}", "kind")
    try:
        query: BaseModel = QUERY_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        first = most_specific(exc.errors())
        raise InvalidInput(str(first["msg"]), field_of(first["loc"], payload)) from None
    return query


def resolve_defaults(ctx: QueryContext, query: BaseModel) -> BaseModel:
    """The query with `as_of` (where the kind has one and it is not given) set to today."""
    if "as_of" in type(query).model_fields and getattr(query, "as_of", None) is None:
        return query.model_copy(update={"as_of": ctx.today()})
    return query


class UsedSegments:
    """The context's saved segments, noting the version of each one a query looks up."""

    def __init__(self, inner: SavedSegments) -> None:
        self.inner = inner
        self.used: dict[int, str] = {}

    def __call__(self, segment_id: int) -> Cohort | None:
        cohort = self.inner(segment_id)
        if cohort is not None:
            self.used[segment_id] = cohort.version
        return cohort

    def versions(self, segment_ids: Collection[int]) -> dict[int, str]:
        return self.inner.versions(segment_ids)


def _segments_unchanged(ctx: QueryContext, entry: CachedAnswer) -> bool:
    if not entry.segments:
        return True
    if ctx.cohorts is None:
        return False
    return ctx.cohorts.versions(list(entry.segments)) == dict(entry.segments)


def run_query(
    ctx: QueryContext, query: BaseModel, cache: QueryCache | None = None, *, refresh: bool = False
) -> dict[str, Any]:
    """The query's answer, from `cache` when the same query was answered on the same data;
    `refresh` computes it afresh (and caches that)."""
    kind = KINDS[query.kind]  # type: ignore[attr-defined]
    query = resolve_defaults(ctx, query)
    key = None
    if cache is not None:
        # The zone sets day boundaries and may change (workspace settings); workspace metrics
        # and spend change what metrics compute: their version is part of the key too.
        keyed: dict[str, Any] = {**query.model_dump(mode="json"), "$timezone": ctx.timezone}
        if ctx.definitions is not None:
            keyed["$definitions"] = ctx.definitions.version
        key = cache.key(ctx.workspace_id, ctx.engine.data_version, ctx.dialect.name, keyed)
        hit = None if refresh else cache.get(key, lambda entry: _segments_unchanged(ctx, entry))
        if hit is not None:
            return {**hit.answer, "cached": True}
    used = None if ctx.cohorts is None else UsedSegments(ctx.cohorts)
    started = time.perf_counter()
    try:
        answer = kind.run(ctx if used is None else dataclasses.replace(ctx, cohorts=used), query)
    except (OverflowError, duckdb.OutOfRangeException, duckdb.ConversionException) as exc:
        # Values the engine cannot represent (dates far outside the calendar, huge offsets).
        raise InvalidInput(f"the query's values are out of range: {exc}", None) from None
    answer["seconds"] = round(time.perf_counter() - started, 4)
    if cache is not None and key is not None:
        cache.put(key, answer, None if used is None else used.used)
    return {**answer, "cached": False}
