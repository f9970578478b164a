"""What a metrics query may need from the operational store besides the events and the saved
segments (QueryContext.cohorts): the workspace's own metrics, the names of its saved segments
(breakdown labels) and its uploaded acquisition spend. The door that runs a query (REST, CLI)
loads them (catalog/service.py) and hands them over in the QueryContext; the analytics core
never opens the operational store itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsloop.analytics.catalog.spec import AnyMetric


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One day's acquisition spend of one channel, in the spend table's currency."""

    channel: str
    day: date
    spend: float


# The spend rows of the local dates date_from..date_to (both included).
SpendSource = Callable[[date, date], list[SpendRow]]


@dataclass(frozen=True, slots=True)
class SpendTable:
    currency: str
    rows: SpendSource


@dataclass(frozen=True)
class Definitions:
    metrics: tuple[AnyMetric, ...] = ()
    segment_names: Mapping[int, str] = field(default_factory=dict)
    spend: SpendTable | None = None
    # Changes whenever any of the above does: part of the query cache's key.
    version: str = ""
