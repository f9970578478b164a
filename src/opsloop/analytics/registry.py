"""Every query kind, declared in one place: its request model and its runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.funnel import FunnelQuery, run_funnel
from opsloop.analytics.queries.funnel_persons import (
    FunnelPersonsQuery,
    funnel_person_ids,
    run_funnel_persons,
)
from opsloop.analytics.queries.lifecycle import LifecycleQuery, run_lifecycle
from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from opsloop.analytics.queries.paths import PathsQuery, run_paths
from opsloop.analytics.queries.retention import RetentionQuery, run_retention
from opsloop.analytics.queries.rfm import RfmQuery, run_rfm
from opsloop.analytics.queries.segment import SegmentQuery, run_segment, segment_person_ids
from opsloop.analytics.queries.timeline import TimelineQuery, run_timeline
from opsloop.analytics.queries.trends import TrendsQuery, run_trends


@dataclass(frozen=True)
class QueryKind:
    name: str
    model: type[BaseModel]
    run: Callable[[QueryContext, Any], dict[str, Any]]
    # Kinds whose answer is a list of persons: all of their ids, sorted (saved as a segment).
    person_ids: Callable[[QueryContext, Any], list[str]] | None = None


KINDS: dict[str, QueryKind] = {
    k.name: k
    for k in [
        QueryKind("trends", TrendsQuery, run_trends),
        QueryKind("metrics", MetricsQuery, run_metrics),
        QueryKind("retention", RetentionQuery, run_retention),
        QueryKind("lifecycle", LifecycleQuery, run_lifecycle),
        QueryKind("rfm", RfmQuery, run_rfm),
        QueryKind("funnel", FunnelQuery, run_funnel),
        QueryKind("funnel_persons", FunnelPersonsQuery, run_funnel_persons, funnel_person_ids),
        QueryKind("paths", PathsQuery, run_paths),
        QueryKind("segment", SegmentQuery, run_segment, segment_person_ids),
        QueryKind("timeline", TimelineQuery, run_timeline),
    ]
}

AnyQuery = Annotated[
    TrendsQuery
    | MetricsQuery
    | RetentionQuery
    | LifecycleQuery
    | RfmQuery
    | FunnelQuery
    | FunnelPersonsQuery
    | PathsQuery
    | SegmentQuery
    | TimelineQuery,
    Field(discriminator="kind"),
]
QUERY_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyQuery)
