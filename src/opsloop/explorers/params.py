"""An explorer form as URL parameters (links to exports, charts and pages keep the query), and a
query's REST body back as a form (a saved insight opens in its explorer)."""

from __future__ import annotations

from typing import Any

from opsloop.explorers.forms import (
    ANY,
    PATH_LINKS,
    RFM_PAGE,
    WINDOW_UNITS,
    ExplorerForm,
    FilterRow,
    Params,
    SeriesRow,
)


def form_params(form: ExplorerForm) -> Params:
    """The parameters that give this form back through read_form."""
    p: Params = [("from", form.date_from), ("to", form.date_to)]
    if form.kind == "trends":
        metrics = any(s.metric for s in form.series)
        for s in form.series:
            p += [("se", s.event), ("sm", s.math), ("sp", s.property)]
            p += [("sk", s.metric)] if metrics else []
        p.append(("interval", form.interval))
        if form.compare:
            p.append(("compare", form.compare))
        if form.display != "line":
            p.append(("display", form.display))
    elif form.kind == "funnel":
        p += [("step", s) for s in form.steps]
        p += [("window", str(form.window)), ("window_unit", form.window_unit)]
    elif form.kind == "retention":
        p += [("start", form.start_event), ("return", form.return_event)]
        p += [("interval", form.interval), ("periods", str(form.periods))]
        if form.mode != "on":
            p.append(("mode", form.mode))
    elif form.kind == "paths":
        p += [("anchor", form.anchor), ("anchor_event", form.anchor_event)]
        p += [("depth", str(form.depth)), ("links", str(form.links))]
        if form.session_minutes:
            p.append(("session", str(form.session_minutes)))
        if form.collapse:
            p.append(("collapse", "1"))
    elif form.kind == "lifecycle":
        p += [("event", form.event), ("interval", form.interval)]
    elif form.kind == "rfm":
        p += [("event", form.event), ("amount", form.amount_property)]
        if form.segment:
            p.append(("segment", form.segment))
    if form.breakdown:
        p.append(("breakdown", form.breakdown))
    for f in form.filters:
        p += [("fp", f.property), ("fo", f.op), ("fv", f.value)]
    return p


def _filter_row(raw: dict[str, Any]) -> FilterRow:
    value = raw.get("value")
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = "" if value is None else str(value)
    prop = str(raw.get("property", ""))
    if raw.get("type") == "person" and not prop.startswith("person."):
        prop = f"person.{prop}"
    return FilterRow(prop, str(raw.get("op", "eq")), text)


def _window(seconds: int) -> tuple[int, str]:
    for unit in ("day", "hour", "minute"):
        size = WINDOW_UNITS[unit]
        if seconds % size == 0:
            return seconds // size, unit
    return max(1, seconds // 60), "minute"


def form_from_query(query: dict[str, Any]) -> ExplorerForm:
    """The form that builds this REST body (fields the forms do not offer are left out)."""
    kind = str(query["kind"])
    form = ExplorerForm(kind=kind)
    form.date_from = str(query.get("date_from") or "")
    form.date_to = str(query.get("date_to") or query.get("as_of") or "")
    form.breakdown = str(query.get("breakdown") or "")
    form.filters = [_filter_row(f) for f in query.get("filters") or []]
    if kind == "trends":
        form.series = [
            SeriesRow(
                str(s.get("event", ANY)),
                str(s.get("math", "total")),
                str(s.get("property") or ""),
                str(s.get("metric") or ""),
            )
            for s in query.get("series", [])
        ] or [SeriesRow()]
        form.interval = str(query.get("interval", "day"))
        form.compare = str(query.get("compare") or "")
    elif kind == "funnel":
        form.steps = [str(s.get("event", "")) for s in query.get("steps", [])]
        form.window, form.window_unit = _window(int(query.get("window_seconds", 86_400)))
    elif kind == "retention":
        form.start_event = str(query.get("start_event", ANY))
        form.return_event = str(query.get("return_event", ANY))
        form.interval = str(query.get("period", "day"))
        form.periods = int(query.get("periods", 7))
        form.mode = str(query.get("mode", "on"))
    elif kind == "paths":
        form.anchor = "end" if query.get("end_event") else "start"
        form.anchor_event = str(query.get("end_event") or query.get("start_event") or "")
        if not form.anchor_event:
            form.anchor = "none"
        form.depth = int(query.get("depth", 4))
        form.links = int(query.get("link_limit", PATH_LINKS))
        form.session_minutes = query.get("session_minutes")
        form.collapse = bool(query.get("collapse_repeats"))
    elif kind == "lifecycle":
        form.event = str(query.get("event", ANY))
        form.interval = str(query.get("interval", "day"))
    elif kind == "rfm":
        form.event = str(query.get("event", "pay"))
        form.amount_property = str(query.get("amount_property", "amount"))
        form.segment = str(query.get("segment") or "")
        form.page = int(query.get("offset", 0)) // RFM_PAGE
    return form
