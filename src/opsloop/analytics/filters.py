"""Property filters and breakdowns over event properties, person properties and columns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from opsloop.analytics.dialect import Dialect, check_property_name
from opsloop.errors import InvalidInput

Operator = Literal[
    "eq",
    "neq",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "not_contains",
    "is_set",
    "is_not_set",
]

# Event columns that can be named directly (the rest are JSON properties).
EVENT_COLUMNS = {
    "event": "e.event",
    "distinct_id": "e.distinct_id",
    "$session_id": "e.session_id",
    "$lib": "e.lib",
    "$os": "e.os",
    "$current_url": "e.url",
}


class PropertyFilter(BaseModel):
    """`{"property": "channel", "op": "eq", "value": "小红书"}`; `"person.channel"` (or
    `"type": "person"`) names a person property."""

    property: str = Field(min_length=1, max_length=200)
    op: Operator = "eq"
    value: Any = None
    type: Literal["event", "person"] = "event"


Source = Literal["event", "person"]


def split_property(name: str, kind: Source = "event") -> tuple[Source, str]:
    if name.startswith("person."):
        return "person", check_property_name(name.removeprefix("person."))
    return kind, check_property_name(name)


def property_text(d: Dialect, name: str, kind: Literal["event", "person"] = "event") -> str:
    """SQL for a property's text value; the source aliases are e (events) and p (persons)."""
    kind, key = split_property(name, kind)
    if kind == "person":
        return d.json_text("p.properties", key)
    if key in EVENT_COLUMNS:
        return EVENT_COLUMNS[key]
    return d.event_text(key)


def property_number(d: Dialect, name: str, kind: Literal["event", "person"] = "event") -> str:
    kind, key = split_property(name, kind)
    if kind == "person":
        return d.json_number("p.properties", key)
    return d.event_number(key)


def needs_person(filters: list[PropertyFilter], *names: str | None) -> bool:
    return any(f.type == "person" or f.property.startswith("person.") for f in filters) or any(
        n is not None and n.startswith("person.") for n in names
    )


def _scalar(value: Any, f: PropertyFilter) -> Any:
    if isinstance(value, dict | list):
        raise InvalidInput(f"filter {f.property!r} {f.op} needs a single value", "filters")
    return value


def compile_filter(d: Dialect, f: PropertyFilter) -> str:
    return compile_filter_on(d, f, property_text(d, f.property, f.type))


def compile_filter_on(d: Dialect, f: PropertyFilter, text: str, number: str | None = None) -> str:
    """The filter's test of the text SQL `text` (and of `number`, its value as a number, for
    gt/gte/lt/lte; by default the property's number): for values that are not plain properties,
    such as a person's first-touch channel."""
    if f.op == "is_set":
        return f"({text} IS NOT NULL)"
    if f.op == "is_not_set":
        return f"({text} IS NULL)"
    if f.op in ("in", "not_in"):
        values = f.value if isinstance(f.value, list) else [f.value]
        if not values:
            raise InvalidInput(f"filter {f.property!r} {f.op} needs at least one value", "filters")
        items = ", ".join(d.string(_text(_scalar(v, f))) for v in values)
        test = f"{text} IN ({items})"
        return f"({test})" if f.op == "in" else f"({text} IS NULL OR NOT {test})"
    value = _scalar(f.value, f)
    if value is None:
        raise InvalidInput(f"filter {f.property!r} {f.op} needs a value", "filters")
    if f.op in ("gt", "gte", "lt", "lte"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(f"filter {f.property!r} {f.op} needs a number", "filters")
        if number is None:
            number = property_number(d, f.property, f.type)
        sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.op]
        return f"({number} {sym} {d.literal(float(value))})"
    if f.op == "contains":
        return d.contains(text, d.string(_text(value)))
    if f.op == "not_contains":
        return f"({text} IS NULL OR NOT {d.contains(text, d.string(_text(value)))})"
    if f.op == "eq":
        return f"({text} = {d.string(_text(value))})"
    return f"({text} IS NULL OR {text} <> {d.string(_text(value))})"


def _text(value: Any) -> str:
    """A filter value in the spelling json_text gives (JSON for numbers and booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)
