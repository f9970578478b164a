"""Every query kind, declared in one place: its request model and its runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.trends import TrendsQuery, run_trends


@dataclass(frozen=True)
class QueryKind:
    name: str
    model: type[BaseModel]
    run: Callable[[QueryContext, Any], dict[str, Any]]


KINDS: dict[str, QueryKind] = {
    k.name: k
    for k in [
        QueryKind("trends", TrendsQuery, run_trends),
    ]
}

AnyQuery = Annotated[TrendsQuery, Field(discriminator="kind")]
QUERY_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyQuery)
