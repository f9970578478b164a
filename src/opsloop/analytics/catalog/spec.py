"""What a metric definition may say: one pydantic model per kind, shared by the YAML files shipped
with the package and the metrics a workspace defines (the same validation for both).

Every metric has a key, a name, a description and a unit in zh-CN and en, a display format, and a
kind with its own fields. Filters may take a value from a parameter given at query time: a filter
whose `value` is exactly `"{name}"` uses the parameter `name`, and is left out when the query does
not give it (so `feature_users` without `feature` counts the users of any feature).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from opsloop.analytics.catalog.formula import Expr, parse_formula
from opsloop.analytics.filters import PropertyFilter
from opsloop.analytics.source import ANY_EVENT

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
PARAMETER = re.compile(r"^\{([a-z][a-z0-9_]{0,62})\}$")
MAX_EVENTS = 20
Format = Literal["number", "percent", "currency", "duration"]


class Text(BaseModel):
    """A user-facing text in both languages the product ships."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)


class MetricBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN, description="snake_case, unique in the catalog")
    name: Text
    description: Text = Field(description="the exact definition: numerator, denominator, window")
    unit: Text
    format: Format = "number"
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    decimals: int = Field(default=0, ge=0, le=6)
    tags: tuple[str, ...] = ()
    parameters: dict[str, Text] = Field(
        default_factory=dict, description="parameters the filters take, with their description"
    )

    @model_validator(mode="after")
    def _currency_format(self) -> MetricBase:
        if self.format == "currency" and self.currency is None:
            object.__setattr__(self, "currency", "CNY")
        return self

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, Text]) -> dict[str, Text]:
        for name in value:
            if not re.match(KEY_PATTERN, name):
                raise ValueError(f"parameter {name!r}: snake_case")
        return value

    def parameter_names(self) -> set[str]:
        return set(self.parameters)

    def problems(self) -> list[tuple[str, str]]:
        return []


def _events(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    return value


class EventMetric(MetricBase):
    """Aggregates over events: `event` is a name, a list of names, or "$any" (any activity)."""

    event: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = (ANY_EVENT,)
    filters: tuple[PropertyFilter, ...] = ()

    @field_validator("event", mode="before")
    @classmethod
    def _event_list(cls, value: Any) -> Any:
        value = _events(value)
        if isinstance(value, list | tuple) and not 1 <= len(value) <= MAX_EVENTS:
            raise ValueError(f"1 to {MAX_EVENTS} event names")
        return value

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) of what the field validators cannot see: filter property names
        the engines cannot read, and parameters the metric does not declare."""
        out = []
        for i, f in enumerate(self.filters):
            if '"' in f.property or "\\" in f.property:
                out.append(
                    (f"filters.{i}.property", "a property name has no quotes or backslashes")
                )
            name = filter_parameter(f)
            if name is not None and name not in self.parameters:
                out.append((f"filters.{i}.value", f"the parameter {name!r} is not declared"))
        return out


def property_name(value: str) -> str:
    """A property name the engines can read (no quotes or backslashes)."""
    if '"' in value or "\\" in value:
        raise ValueError("a property name has no quotes or backslashes")
    return value


PropertyName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(property_name)]


def filter_parameter(f: PropertyFilter) -> str | None:
    """The parameter a filter's value names (`"{feature}"`), if any."""
    if isinstance(f.value, str):
        m = PARAMETER.match(f.value)
        if m:
            return m.group(1)
    return None


class CountMetric(EventMetric):
    """Number of matching events."""

    kind: Literal["count"]


class UniqueUsersMetric(EventMetric):
    """Distinct persons with matching events; with `min_days` / `min_events`, only those with
    matching events on at least that many distinct local days / at least that many events in the
    bucket (repeat buyers: `min_days: 2`)."""

    kind: Literal["unique_users"]
    min_days: int = Field(default=1, ge=1, le=366)
    min_events: int = Field(default=1, ge=1, le=1_000_000)


class PropertyMetric(EventMetric):
    """sum / avg / min / max of a numeric event property (events without a number are skipped)."""

    kind: Literal["sum", "avg", "min", "max"]
    property: PropertyName


class PercentileMetric(EventMetric):
    """The exact percentile `p` (0..1, linear interpolation between the closest ranks) of a
    numeric event property."""

    kind: Literal["percentile"]
    property: PropertyName
    p: float = Field(ge=0, le=1)


class DistinctCountMetric(EventMetric):
    """Number of distinct values of a property (as text) on matching events."""

    kind: Literal["distinct_count"]
    property: PropertyName


class NewUsersMetric(EventMetric):
    """Persons whose first matching event ever (over all history, not only the range) falls in
    the bucket. Filters test that first event (and the person); the breakdown is read from it."""

    kind: Literal["new_users"]


class ActiveUsersMetric(EventMetric):
    """Persons active (a matching event) per `period`, averaged over the periods of a bucket.

    Calendar (default): the distinct persons of each day / ISO week / calendar month, clipped to
    the bucket and the range; a bucket's value is the mean over the periods it holds (DAU at month
    grain = the month's average DAU). The period cannot be longer than the bucket.
    Rolling (`rolling: true`): for each day, the persons active in the `window_days` days ending
    on it; a bucket's value is the mean over its days (the rolling MAU at day grain)."""

    kind: Literal["active_users"]
    period: Literal["day", "week", "month"] = "day"
    rolling: bool = False
    window_days: int = Field(default=30, ge=1, le=366)


class RetentionMetric(EventMetric):
    """Of the persons new on day d (first `event` ever: `event` and `filters` describe the
    cohort's first event), the share with a `return_event` on day d + `days` (`mode: on`) or on
    any of days d+1 .. d+`days` (`mode: within`). Cohort days count only when day d + `days` has
    ended: on or before both the range's last day and the last day with data. A bucket pools its
    cohort days: retained ÷ cohort size (null when no cohort day counts)."""

    kind: Literal["retention"]
    days: int = Field(ge=1, le=366)
    mode: Literal["on", "within"] = "on"
    return_event: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = (ANY_EVENT,)

    @field_validator("return_event", mode="before")
    @classmethod
    def _return_list(cls, value: Any) -> Any:
        return _events(value)


class ReferredUsersMetric(EventMetric):
    """Persons whose `signup_event` (at any time up to the range's end) carries a
    `match_property` value that an `event` (the invite) in the bucket carries: invitees who
    signed up, attributed to the bucket of the invite. Filters apply to the invites."""

    kind: Literal["referred_users"]
    signup_event: str = Field(default="sign_up", min_length=1, max_length=200)
    match_property: PropertyName = "invite_code"


class SpendMetric(MetricBase):
    """Acquisition spend from the workspace's uploaded spend table (channel, date, spend): the
    spend of the bucket's days. Breaks down only by `$first_touch_channel`; filters other than
    on `$first_touch_channel` are refused."""

    kind: Literal["spend"]


class FormulaMetric(MetricBase):
    """Arithmetic over other metrics: `+ - * /` (or × ÷), parentheses, numbers and metric keys.
    Evaluated per bucket from the components' values; null when a component is null or a divisor
    is zero."""

    kind: Literal["formula"]
    formula: str = Field(min_length=1, max_length=1000)

    @field_validator("formula")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_formula(value)
        return value

    def expression(self) -> Expr:
        return parse_formula(self.formula)


MetricSpec = Annotated[
    CountMetric
    | UniqueUsersMetric
    | PropertyMetric
    | PercentileMetric
    | DistinctCountMetric
    | NewUsersMetric
    | ActiveUsersMetric
    | RetentionMetric
    | ReferredUsersMetric
    | SpendMetric
    | FormulaMetric,
    Field(discriminator="kind"),
]
AnyMetric = (
    CountMetric
    | UniqueUsersMetric
    | PropertyMetric
    | PercentileMetric
    | DistinctCountMetric
    | NewUsersMetric
    | ActiveUsersMetric
    | RetentionMetric
    | ReferredUsersMetric
    | SpendMetric
    | FormulaMetric
)
METRIC_ADAPTER: TypeAdapter[AnyMetric] = TypeAdapter(MetricSpec)
KINDS = (
    "count",
    "unique_users",
    "sum",
    "avg",
    "min",
    "max",
    "percentile",
    "distinct_count",
    "new_users",
    "active_users",
    "retention",
    "referred_users",
    "spend",
    "formula",
)
