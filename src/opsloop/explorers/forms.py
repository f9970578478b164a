"""The explorers' forms: a plain GET form per query kind (it works without JavaScript), read
into an `ExplorerForm`, turned into the query's REST body, and back (a saved insight opens in
its explorer). Parameter names are short and stable: they are the explorers' URLs.

Rows (trend series, funnel steps, filters) are repeated parameters. The form's `add` and
`remove` buttons submit the form too: `add=series` adds an empty row, `remove=filter:2` drops
one, so building a query needs no script.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from opsloop.errors import InvalidInput

Params = list[tuple[str, str]]
ANY = "$any"
KINDS = ("trends", "funnel", "retention", "paths", "lifecycle", "rfm")
MATHS = ("total", "unique_users", "sum", "avg", "min", "max")
NUMERIC_MATHS = ("sum", "avg", "min", "max")
INTERVALS = ("hour", "day", "week", "month")
PERIODS = ("day", "week", "month")
OPS = (
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
)
NUMBER_OPS = ("gt", "gte", "lt", "lte")
LIST_OPS = ("in", "not_in")
NO_VALUE_OPS = ("is_set", "is_not_set")
WINDOW_UNITS = {"minute": 60, "hour": 3600, "day": 86_400}
COMPARES = ("", "previous_period", "previous_week")
RETENTION_MODES = ("on", "within", "unbounded")
MAX_ROWS = 10  # series, steps or filters a form shows
MAX_STEPS = 20
RFM_PAGE = 50  # members listed per page
PATH_LINKS = 30  # the Sankey's widest links (more is unreadable)


@dataclass
class SeriesRow:
    event: str = ANY
    math: str = "unique_users"
    property: str = ""
    metric: str = ""  # a catalog metric's key: the series is that metric (event, math unused)


@dataclass
class FilterRow:
    property: str = ""
    op: str = "eq"
    value: str = ""


@dataclass
class ExplorerForm:
    """Every explorer's fields; each kind reads the ones it has."""

    kind: str
    date_from: str = ""
    date_to: str = ""
    interval: str = "day"
    series: list[SeriesRow] = field(default_factory=lambda: [SeriesRow()])
    steps: list[str] = field(default_factory=list)
    window: int = 1
    window_unit: str = "day"
    breakdown: str = ""
    filters: list[FilterRow] = field(default_factory=list)
    compare: str = ""
    display: str = "line"
    start_event: str = ANY
    return_event: str = ANY
    periods: int = 7
    mode: str = "on"
    anchor: str = "start"
    anchor_event: str = ""
    depth: int = 4
    links: int = PATH_LINKS
    session_minutes: int | None = None
    collapse: bool = False
    event: str = ANY
    amount_property: str = "amount"
    segment: str = ""
    page: int = 0


def _one(params: Params, name: str) -> str | None:
    values = [v for k, v in params if k == name]
    return values[-1].strip() if values else None


def _many(params: Params, name: str) -> list[str]:
    return [v.strip() for k, v in params if k == name]


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _one(params, name)
    if value is None or (value == "" and "" not in allowed):
        return default
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(a for a in allowed if a)}", name)
    return value


def _int(params: Params, name: str, default: int, low: int, high: int) -> int:
    value = _one(params, name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", name) from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", name)
    return number


def _filters(params: Params) -> list[FilterRow]:
    props, ops, values = _many(params, "fp"), _many(params, "fo"), _many(params, "fv")
    rows = []
    for i, prop in enumerate(props[:MAX_ROWS]):
        op = ops[i] if i < len(ops) and ops[i] else "eq"
        if op not in OPS:
            raise InvalidInput(f"unknown filter operator {op!r}", f"fo[{i}]")
        rows.append(FilterRow(prop, op, values[i] if i < len(values) else ""))
    return rows


def _series(params: Params) -> list[SeriesRow]:
    events, maths, props = _many(params, "se"), _many(params, "sm"), _many(params, "sp")
    metrics = _many(params, "sk")
    rows = []
    for i, event in enumerate(events[:MAX_ROWS]):
        math = maths[i] if i < len(maths) and maths[i] else "total"
        if math not in MATHS:
            raise InvalidInput(f"unknown math {math!r}", f"sm[{i}]")
        metric = metrics[i] if i < len(metrics) else ""
        rows.append(SeriesRow(event or ANY, math, props[i] if i < len(props) else "", metric))
    return rows or [SeriesRow()]


def read_form(kind: str, params: Params, defaults: ExplorerForm) -> ExplorerForm:
    """The form as submitted; what is not in `params` keeps its value from `defaults`. Raises
    InvalidInput naming the parameter."""
    given = {k for k, _ in params}
    form = replace(defaults, kind=kind)
    form.date_from = _one(params, "from") or defaults.date_from
    form.date_to = _one(params, "to") or defaults.date_to
    form.breakdown = _one(params, "breakdown") or ""
    if "fp" in given:
        form.filters = _filters(params)
    form.interval = _choice(params, "interval", INTERVALS, defaults.interval)
    if kind == "trends":
        if "se" in given:
            form.series = _series(params)
        form.compare = _choice(params, "compare", COMPARES, "")
        form.display = _choice(params, "display", ("line", "bar"), "line")
    elif kind == "funnel":
        if "step" in given:
            form.steps = _many(params, "step")[:MAX_STEPS]
        form.window = _int(params, "window", defaults.window, 1, 100_000)
        form.window_unit = _choice(params, "window_unit", tuple(WINDOW_UNITS), "day")
    elif kind == "retention":
        form.start_event = _one(params, "start") or defaults.start_event
        form.return_event = _one(params, "return") or defaults.return_event
        form.interval = _choice(params, "interval", PERIODS, defaults.interval)
        form.periods = _int(params, "periods", defaults.periods, 1, 60)
        form.mode = _choice(params, "mode", RETENTION_MODES, "on")
    elif kind == "paths":
        form.anchor = _choice(params, "anchor", ("start", "end", "none"), defaults.anchor)
        form.anchor_event = _one(params, "anchor_event") or defaults.anchor_event
        form.depth = _int(params, "depth", defaults.depth, 2, 10)
        form.links = _int(params, "links", defaults.links, 1, 200)
        session = _int(params, "session", 0, 0, 1440)
        form.session_minutes = session or None
        form.collapse = _one(params, "collapse") in ("1", "on", "true")
    elif kind == "lifecycle":
        form.event = _one(params, "event") or defaults.event
        form.interval = _choice(params, "interval", PERIODS, defaults.interval)
    elif kind == "rfm":
        form.event = _one(params, "event") or defaults.event
        form.amount_property = _one(params, "amount") or defaults.amount_property
        form.segment = _one(params, "segment") or ""
        form.page = _int(params, "page", 0, 0, 100_000)
    _edit_rows(form, _one(params, "add"), _one(params, "remove"))
    return form


def _edit_rows(form: ExplorerForm, add: str | None, remove: str | None) -> None:
    """Apply the form's add / remove buttons."""
    if add == "series" and len(form.series) < MAX_ROWS:
        form.series.append(SeriesRow(event=ANY, math="total"))
    elif add == "step" and len(form.steps) < MAX_STEPS:
        form.steps.append("")
    elif add == "filter" and len(form.filters) < MAX_ROWS:
        form.filters.append(FilterRow())
    if remove:
        what, _, index = remove.partition(":")
        rows: dict[str, list[Any]] = {
            "series": form.series,
            "step": form.steps,
            "filter": form.filters,
        }
        if what in rows and index.isdigit() and int(index) < len(rows[what]):
            del rows[what][int(index)]
        if not form.series:
            form.series.append(SeriesRow())


def filter_value(row: FilterRow) -> Any:
    """A filter's value as the query wants it: a list for in / not_in (comma-separated), a
    number for comparisons, none for is_set / is_not_set, else the text."""
    if row.op in NO_VALUE_OPS:
        return None
    if row.op in LIST_OPS:
        return [v.strip() for v in row.value.replace("，", ",").split(",") if v.strip()]
    if row.op in NUMBER_OPS:
        try:
            return float(row.value) if "." in row.value else int(row.value)
        except ValueError:
            raise InvalidInput(f"filter {row.property!r} {row.op} needs a number", "fv") from None
    return row.value


def query_filters(form: ExplorerForm) -> list[dict[str, Any]]:
    return [
        {"property": r.property, "op": r.op, "value": filter_value(r)}
        for r in form.filters
        if r.property
    ]


def to_query(form: ExplorerForm) -> dict[str, Any]:
    """The REST body of the form's query (POST /api/v1/query), without empty optional fields."""
    q: dict[str, Any] = {"kind": form.kind}
    filters = query_filters(form)
    if form.kind == "trends":
        q["series"] = [
            {"metric": s.metric}
            if s.metric
            else {"event": s.event or ANY, "math": s.math}
            | ({"property": s.property} if s.math in NUMERIC_MATHS else {})
            for s in form.series
        ]
        q |= {"date_from": form.date_from, "date_to": form.date_to, "interval": form.interval}
        if form.compare:
            q["compare"] = form.compare
    elif form.kind == "funnel":
        q["steps"] = [{"event": s} for s in form.steps if s]
        q["window_seconds"] = form.window * WINDOW_UNITS[form.window_unit]
        q |= {"date_from": form.date_from, "date_to": form.date_to}
    elif form.kind == "retention":
        q |= {
            "start_event": form.start_event,
            "return_event": form.return_event,
            "period": form.interval,
            "periods": form.periods,
            "date_from": form.date_from,
            "date_to": form.date_to,
        }
        if form.mode != "on":
            q["mode"] = form.mode
    elif form.kind == "paths":
        if form.anchor in ("start", "end") and form.anchor_event:
            q[f"{form.anchor}_event"] = form.anchor_event
        q |= {"depth": form.depth, "date_from": form.date_from, "date_to": form.date_to}
        q["link_limit"] = form.links
        if form.session_minutes:
            q["session_minutes"] = form.session_minutes
        if form.collapse:
            q["collapse_repeats"] = True
    elif form.kind == "lifecycle":
        q |= {
            "event": form.event,
            "interval": form.interval,
            "date_from": form.date_from,
            "date_to": form.date_to,
        }
    elif form.kind == "rfm":
        q |= {
            "event": form.event,
            "amount_property": form.amount_property,
            "date_from": form.date_from,
            "as_of": form.date_to,
        }
        if form.segment:
            q["segment"] = form.segment
        q["limit"] = RFM_PAGE
        if form.page:
            q["offset"] = form.page * RFM_PAGE
    if form.breakdown and form.kind in ("trends", "funnel", "retention"):
        q["breakdown"] = form.breakdown
    if filters:
        q["filters"] = filters
    return q
