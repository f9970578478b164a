"""The segment rule language: a JSON tree that picks persons, parsed into frozen dataclasses.

A rule is one JSON object; combinators nest (at most 8 levels, 100 conditions):
- `{"and": [r1, r2, ...]}`, `{"or": [r1, ...]}`, `{"not": r}`.
- Person property: `{"person": "channel", "op": "eq", "value": "小红书"}` (ops as in query
  filters: eq, neq, in, not_in, gt, gte, lt, lte, contains, not_contains, is_set, is_not_set;
  a missing property is never equal, greater or contained, and always "neq"/"not_in").
- Behaviour: `{"did": "pay", "at_least": 2, "in_last_days": 30}` = did `pay` at least twice in
  the 30 local days ending on `as_of` (both ends included); `at_least` defaults to 1, `at_most` is
  optional (`"at_least": 0, "at_most": 1` = never or once); `"between": ["2026-01-01",
  "2026-01-31"]` instead of `in_last_days` counts in those local dates (at most 1,098 days);
  with neither, every event up to `as_of` counts.
  `"filters": [{"property": "category", "op": "eq", "value": "美妆"}]` counts only matching
  events. `{"did_not": "app_open", "in_last_days": 14}` = no `app_open` in those 14 days (persons
  who never did anything included). `"$any"` means any activity event.
- RFM: `{"rfm_segment": "重要价值客户"}` (or its English name, e.g. "important value") = the
  persons RFM puts in that segment as of `as_of` with the default RFM request; `"rfm": {...}`
  overrides its fields (event, amount_property, date_from, filters, scoring, thresholds, high,
  high_score).
- Lifecycle: `{"lifecycle": "dormant", "interval": "week"}` = the person's lifecycle stage in the
  period (day, ISO week, month) holding `as_of`, events up to `as_of`: new (first active ever in
  this period), returning (active in this and the previous period), resurrecting (active in this
  one, not the previous one, but before it), dormant (active in the previous period, not in this
  one) — the statuses of queries/lifecycle.py for that period. `"event"` (default "$any").
- Cohort: `{"cohort": 12}` = the members of saved segment 12 (its rule, or its static list).

Example, "paid twice this month, from 小红书, not seen for a week":
`{"and": [{"did": "pay", "at_least": 2, "in_last_days": 30},
{"person": "channel", "op": "eq", "value": "小红书"}, {"did_not": "$any", "in_last_days": 7}]}`.
Errors name the path of the offending part: `rule.and[1].at_least`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

from pydantic import ValidationError

from opsloop.analytics.context import MAX_RANGE_DAYS
from opsloop.analytics.filters import PropertyFilter
from opsloop.analytics.queries.rfm import RfmQuery, segment_index
from opsloop.errors import InvalidInput

MAX_DEPTH = 8
MAX_NODES = 100
MAX_WINDOW_DAYS = MAX_RANGE_DAYS
Stage = Literal["new", "returning", "resurrecting", "dormant"]
Interval = Literal["day", "week", "month"]
STAGES = ("new", "returning", "resurrecting", "dormant")
INTERVALS = ("day", "week", "month")
RFM_OPTIONS = {
    "event",
    "amount_property",
    "date_from",
    "filters",
    "scoring",
    "thresholds",
    "high",
    "high_score",
}


@dataclass(frozen=True, slots=True)
class PersonRule:
    filter: PropertyFilter
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class DidRule:
    """Persons with at_least..at_most (None: no upper bound) matching events in the window."""

    event: str
    at_least: int = 1
    at_most: int | None = None
    in_last_days: int | None = None
    between: tuple[date, date] | None = None
    filters: tuple[PropertyFilter, ...] = ()
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class RfmRule:
    segment: int  # index into rfm.SEGMENTS
    options: RfmQuery
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    stage: Stage
    interval: Interval = "week"
    event: str = "$any"
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class CohortRule:
    segment_id: int
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class AllOf:
    rules: tuple[Rule, ...]
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class AnyOf:
    rules: tuple[Rule, ...]
    path: str = field(default="rule", compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule
    path: str = field(default="rule", compare=False)


Rule = PersonRule | DidRule | RfmRule | LifecycleRule | CohortRule | AllOf | AnyOf | Not
KINDS = ("and", "or", "not", "person", "did", "did_not", "rfm_segment", "lifecycle", "cohort")
ALLOWED = {
    "and": {"and"},
    "or": {"or"},
    "not": {"not"},
    "person": {"person", "op", "value"},
    "did": {"did", "at_least", "at_most", "in_last_days", "between", "filters"},
    "did_not": {"did_not", "in_last_days", "between", "filters"},
    "rfm_segment": {"rfm_segment", "rfm"},
    "lifecycle": {"lifecycle", "interval", "event"},
    "cohort": {"cohort"},
}


def parse_rule(data: Any, path: str = "rule") -> Rule:
    """The rule tree of a JSON value; InvalidInput names the path of the first problem."""
    counter = [0]
    return _parse(data, path, 1, counter)


def _parse(data: Any, path: str, depth: int, counter: list[int]) -> Rule:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{path}: rules nest at most {MAX_DEPTH} levels", path)
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise InvalidInput(f"{path}: a rule has at most {MAX_NODES} conditions", path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a rule is a JSON object", path)
    kinds = [k for k in KINDS if k in data]
    if len(kinds) != 1:
        raise InvalidInput(f"{path}: a rule has exactly one of {', '.join(KINDS)}", path)
    kind = kinds[0]
    extra = sorted(set(data) - ALLOWED[kind])
    if extra:
        raise InvalidInput(
            f"{path}.{extra[0]}: unknown key for a {kind!r} rule", f"{path}.{extra[0]}"
        )
    at = f"{path}.{kind}"
    if kind in ("and", "or"):
        items = data[kind]
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"{at}: a non-empty list of rules", at)
        rules = tuple(_parse(r, f"{at}[{i}]", depth + 1, counter) for i, r in enumerate(items))
        return AllOf(rules, path) if kind == "and" else AnyOf(rules, path)
    if kind == "not":
        return Not(_parse(data["not"], at, depth + 1, counter), path)
    if kind == "person":
        return _person(data, path)
    if kind in ("did", "did_not"):
        return _did(data, path, kind)
    if kind == "rfm_segment":
        return _rfm(data, path)
    if kind == "lifecycle":
        return _lifecycle(data, path)
    return CohortRule(_int(data["cohort"], at, 1, 2**31 - 1), path)


def _int(value: Any, at: str, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidInput(f"{at}: a whole number ≥ {low}", at)
    if high is not None and value > high:
        raise InvalidInput(f"{at}: at most {high}", at)
    return value


def _name(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InvalidInput(f"{at}: a name (1 to 200 characters)", at)
    return value


def _validation_error(exc: ValidationError, at: str) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join([at, *(str(p) for p in first["loc"])])
    return InvalidInput(f"{where}: {first['msg']}", where)


def _filter(data: dict[str, Any], at: str) -> PropertyFilter:
    try:
        return PropertyFilter.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, at) from exc


def _person(data: dict[str, Any], path: str) -> PersonRule:
    name = _name(data["person"], f"{path}.person")
    f = _filter({"property": name, "op": data.get("op", "eq"), "value": data.get("value")}, path)
    needs_value = f.op not in ("is_set", "is_not_set")
    if needs_value and (f.value is None or isinstance(f.value, dict)):
        raise InvalidInput(f"{path}.value: op {f.op!r} needs a value", f"{path}.value")
    return PersonRule(f.model_copy(update={"type": "person"}), path)


def _did(data: dict[str, Any], path: str, kind: str) -> DidRule:
    event = _name(data[kind], f"{path}.{kind}")
    at_least: int = 0
    at_most: int | None = 0
    if kind == "did":
        at_least = _int(data.get("at_least", 1), f"{path}.at_least", 0)
        raw_most = data.get("at_most")
        at_most = None if raw_most is None else _int(raw_most, f"{path}.at_most", at_least)
    days = data.get("in_last_days")
    between = data.get("between")
    if days is not None and between is not None:
        at = f"{path}.between"
        raise InvalidInput(f"{at}: give in_last_days or between, not both", at)
    if days is not None:
        days = _int(days, f"{path}.in_last_days", 1, MAX_WINDOW_DAYS)
    span = None if between is None else _between(between, f"{path}.between")
    raw = data.get("filters", [])
    if not isinstance(raw, list):
        raise InvalidInput(f"{path}.filters: a list of filters", f"{path}.filters")
    filters = tuple(_filter(f, f"{path}.filters[{i}]") for i, f in enumerate(raw))
    return DidRule(event, at_least, at_most, days, span, filters, path)


def _between(value: Any, at: str) -> tuple[date, date]:
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidInput(f"{at}: two dates [from, to]", at)
    try:
        lo, hi = (date.fromisoformat(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{at}: dates are YYYY-MM-DD", at) from exc
    if hi < lo or (hi - lo).days > MAX_WINDOW_DAYS:
        raise InvalidInput(f"{at}: from ≤ to, at most {MAX_WINDOW_DAYS} days apart", at)
    return lo, hi


def _rfm(data: dict[str, Any], path: str) -> RfmRule:
    at = f"{path}.rfm_segment"
    index = segment_index(data["rfm_segment"]) if isinstance(data["rfm_segment"], str) else None
    if index is None:
        raise InvalidInput(f"{at}: one of the eight RFM segments (e.g. 重要价值客户)", at)
    options = data.get("rfm", {})
    if not isinstance(options, dict):
        raise InvalidInput(f"{path}.rfm: an object of RFM options", f"{path}.rfm")
    unknown = sorted(set(options) - RFM_OPTIONS)
    if unknown:
        raise InvalidInput(
            f"{path}.rfm.{unknown[0]}: not an RFM option", f"{path}.rfm.{unknown[0]}"
        )
    try:
        query = RfmQuery.model_validate(options)
    except ValidationError as exc:
        raise _validation_error(exc, f"{path}.rfm") from exc
    return RfmRule(index, query, path)


def _lifecycle(data: dict[str, Any], path: str) -> LifecycleRule:
    stage, interval = data["lifecycle"], data.get("interval", "week")
    if stage not in STAGES:
        at = f"{path}.lifecycle"
        raise InvalidInput(f"{at}: one of {', '.join(STAGES)}", at)
    if interval not in INTERVALS:
        at = f"{path}.interval"
        raise InvalidInput(f"{at}: one of {', '.join(INTERVALS)}", at)
    event = _name(data.get("event", "$any"), f"{path}.event")
    return LifecycleRule(cast(Stage, stage), cast(Interval, interval), event, path)


def cohort_rules(rule: Rule) -> list[CohortRule]:
    """The conditions of a rule that name saved segments."""
    if isinstance(rule, CohortRule):
        return [rule]
    if isinstance(rule, AllOf | AnyOf):
        return [c for r in rule.rules for c in cohort_rules(r)]
    if isinstance(rule, Not):
        return cohort_rules(rule.rule)
    return []
