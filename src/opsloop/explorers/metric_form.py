"""The console's metric form (/metrics/new, /metrics/{key}/edit): the fields a person fills in,
turned into a definition in the catalog's format (validated by the catalog service, as the REST
routes validate theirs), and a stored definition back into the form.

The form edits the common kinds: counts, unique users, sum / average / minimum / maximum /
percentile of a numeric property, distinct values of a property, and formulas over other metrics,
with the event kinds' property filters and the parameters their values may name (rows: see
`metric_rows`). Fields it does not show (`min_days`, ...) are kept when a metric is edited without
changing its kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsloop.errors import InvalidInput, OpsLoopError
from opsloop.explorers.forms import FilterRow
from opsloop.explorers.metric_rows import (
    Pairs,
    ParameterRow,
    filter_definitions,
    parameter_definitions,
    read_filter_rows,
    read_parameter_rows,
    row_field,
    row_label,
    stored_filter_rows,
    stored_parameter_rows,
)
from opsloop.web.forms import Problem
from opsloop.web.i18n import N_, translate

FORM_KINDS = (
    "count",
    "unique_users",
    "sum",
    "avg",
    "min",
    "max",
    "percentile",
    "distinct_count",
    "formula",
)
PROPERTY_KINDS = ("sum", "avg", "min", "max", "percentile", "distinct_count")
FORMATS = {
    "number": N_("Number"),
    "percent": N_("Percent"),
    "currency": N_("Currency"),
    "duration": N_("Duration"),
}
KIND_NAMES = {
    "count": N_("Event count"),
    "unique_users": N_("Unique users"),
    "sum": N_("Sum of a property"),
    "avg": N_("Average of a property"),
    "min": N_("Minimum of a property"),
    "max": N_("Maximum of a property"),
    "percentile": N_("Percentile of a property"),
    "distinct_count": N_("Distinct values of a property"),
    "new_users": N_("New users"),
    "active_users": N_("Active users"),
    "retention": N_("Retention"),
    "referred_users": N_("Referred users"),
    "spend": N_("Acquisition spend"),
    "formula": N_("Formula of other metrics"),
}
FIELD_LABELS = {
    "key": N_("Key"),
    "kind": N_("Kind"),
    "name_zh": N_("Name (Chinese)"),
    "name_en": N_("Name (English)"),
    "description_zh": N_("Description (Chinese)"),
    "description_en": N_("Description (English)"),
    "unit_zh": N_("Unit (Chinese)"),
    "unit_en": N_("Unit (English)"),
    "event": N_("Event names"),
    "property": N_("Property"),
    "p": N_("Percentile (0–1)"),
    "formula": N_("Formula"),
    "format": N_("Format"),
    "decimals": N_("Decimals"),
}
# Where the catalog's field names (`name.zh-CN`, `event.0`) land on the form.
TEXT_FIELDS = {"name": "name", "description": "description", "unit": "unit"}
MSG_INVALID = N_("“%(field)s” is not valid: please check it.")
MSG_KEY = N_(
    "The key is 1–63 lowercase letters, digits or underscores, starting with a letter, "
    "and cannot be changed later."
)
MSG_KEY_TAKEN = N_("This key is taken by a built-in metric or one of this workspace's.")
MSG_FORMULA = N_(
    "The formula is not valid: use metric keys of the catalog, numbers, + − × ÷ and "
    "parentheses; a metric cannot use itself."
)
MSG_REQUIRED = N_("“%(field)s” is required.")
MSG_IN_USE = N_("Other metrics' formulas use this metric: change them first.")
MSG_UNDECLARED = N_(
    "This filter's value names a parameter the metric does not declare: add it under "
    "Parameters, or write the value itself."
)
MSG_PARAMETER_NAME = N_(
    "A parameter's name is 1–63 lowercase letters, digits or underscores, starting with a "
    "letter, and each name appears once."
)


@dataclass
class MetricForm:
    key: str = ""
    kind: str = "count"
    name_zh: str = ""
    name_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    unit_zh: str = ""
    unit_en: str = ""
    event: str = ""
    property: str = ""
    p: str = ""
    formula: str = ""
    format: str = "number"
    decimals: str = "0"
    filters: list[FilterRow] = field(default_factory=list)
    parameters: list[ParameterRow] = field(default_factory=list)


TEXT_INPUTS = tuple(
    n for n in MetricForm.__dataclass_fields__ if n not in ("filters", "parameters")
)


def read_metric_form(data: dict[str, str], rows: Pairs | None = None) -> MetricForm:
    """The submitted fields (unknown ones ignored), stripped; `rows` are the form's repeated
    fields (filters and parameters) in order."""
    form = MetricForm()
    for name in TEXT_INPUTS:
        if name in data:
            setattr(form, name, str(data[name]).strip())
    form.filters = read_filter_rows(rows or [])
    form.parameters = read_parameter_rows(rows or [])
    return form


def _number(text: str, field: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a number", field) from None


def form_definition(form: MetricForm, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The catalog definition of the form; `base` (the stored definition) keeps the fields the
    form does not show when the kind is unchanged."""
    if form.kind not in FORM_KINDS and (base is None or base.get("kind") != form.kind):
        raise InvalidInput(f"kind must be one of {', '.join(FORM_KINDS)}", "kind")
    out: dict[str, Any] = dict(base) if base and base.get("kind") == form.kind else {}
    for name in ("event", "property", "p", "formula", "currency", "filters", "parameters"):
        out.pop(name, None)
    out |= {
        "key": form.key,
        "kind": form.kind,
        "name": {"zh-CN": form.name_zh, "en": form.name_en},
        "description": {"zh-CN": form.description_zh, "en": form.description_en},
        "unit": {"zh-CN": form.unit_zh, "en": form.unit_en},
        "format": form.format,
        "decimals": _number(form.decimals or "0", "decimals", int),
    }
    if form.format == "currency" and base and base.get("currency"):
        out["currency"] = base["currency"]
    if form.kind == "formula":
        out["formula"] = form.formula
    elif form.kind in FORM_KINDS or "event" in (base or {}):
        events = [e.strip() for e in form.event.replace("，", ",").split(",") if e.strip()]
        out["event"] = events or ["$any"]
    if form.kind in PROPERTY_KINDS:
        out["property"] = form.property
    if form.kind == "percentile":
        out["p"] = _number(form.p, "p", float)
    if "event" in out and form.filters:
        out["filters"] = filter_definitions(form.filters)
    if form.parameters:
        out["parameters"] = parameter_definitions(form.parameters)
    return out


def _texts(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return str(value.get("zh-CN", "")), str(value.get("en", ""))
    return "", ""


def definition_form(definition: dict[str, Any]) -> MetricForm:
    """The form that shows a stored definition."""
    name_zh, name_en = _texts(definition.get("name"))
    description_zh, description_en = _texts(definition.get("description"))
    unit_zh, unit_en = _texts(definition.get("unit"))
    events = definition.get("event") or []
    return MetricForm(
        key=str(definition.get("key", "")),
        kind=str(definition.get("kind", "count")),
        name_zh=name_zh,
        name_en=name_en,
        description_zh=description_zh,
        description_en=description_en,
        unit_zh=unit_zh,
        unit_en=unit_en,
        event=", ".join(events if isinstance(events, list) else [str(events)]),
        property=str(definition.get("property") or ""),
        p="" if definition.get("p") is None else str(definition["p"]),
        formula=str(definition.get("formula") or ""),
        format=str(definition.get("format", "number")),
        decimals=str(definition.get("decimals", 0)),
        filters=stored_filter_rows(definition),
        parameters=stored_parameter_rows(definition),
    )


def form_field(field: str | None, parameters: list[ParameterRow] | None = None) -> str | None:
    """The form field a catalog error names: `name.zh-CN` → name_zh, `event.0` → event,
    `filters.1.value` → fv-1 (see `metric_rows.row_field`)."""
    if not field:
        return None
    if (row := row_field(field, parameters or [])) is not None:
        return row
    head, _, rest = field.partition(".")
    if head in TEXT_FIELDS:
        return f"{head}_zh" if rest.startswith("zh") else f"{head}_en"
    if head in FIELD_LABELS:
        return head
    return None


def metric_problem(
    exc: OpsLoopError, language: str, form: MetricForm | None = None, *, deleting: bool = False
) -> Problem:
    """A catalog error as the form shows it, in the reader's language, naming its field."""
    field = form_field(exc.field, form.parameters if form else None)
    if exc.code == "conflict":
        message = MSG_IN_USE if deleting else MSG_KEY_TAKEN
        return Problem(translate(language, message), field)
    if field == "key":
        return Problem(translate(language, MSG_KEY), field)
    if field == "formula":
        return Problem(translate(language, MSG_FORMULA), field)
    if field and field.startswith("pn-"):
        return Problem(translate(language, MSG_PARAMETER_NAME), field)
    if field and field.startswith("fv-") and "parameter" in exc.message:
        return Problem(translate(language, MSG_UNDECLARED), field)
    label = row_label(field, language) if field else None
    if label is None:
        label = translate(language, FIELD_LABELS[field]) if field in FIELD_LABELS else "?"
    message = MSG_REQUIRED if "at least 1 character" in exc.message else MSG_INVALID
    return Problem(translate(language, message) % {"field": label}, field)
