"""The metric form's repeated rows: property filters (`fp` / `fo` / `fv`, as in the explorers) and
the parameters a filter's value may name (`pn` / `pz` / `pe`: name, zh-CN and en description).
They turn into the definition's `filters` and `parameters` and back; their errors name the row's
input (`fv-2`), so the form marks it. The form's `add` / `remove` buttons edit the rows without
saving (`add=filter`, `remove=parameter:1`), so building a metric needs no script."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opsloop.analytics.catalog.spec import KEY_PATTERN, PARAMETER
from opsloop.errors import InvalidInput
from opsloop.explorers.forms import LIST_OPS, MAX_ROWS, NO_VALUE_OPS, NUMBER_OPS, OPS, FilterRow
from opsloop.web.i18n import N_, translate

Pairs = list[tuple[str, str]]
ROW_LABELS = {
    "fp": N_("Filter %(n)s: property"),
    "fo": N_("Filter %(n)s: operator"),
    "fv": N_("Filter %(n)s: value"),
    "pn": N_("Parameter %(n)s: name"),
    "pz": N_("Parameter %(n)s: description (Chinese)"),
    "pe": N_("Parameter %(n)s: description (English)"),
}
ROW_FIELD = re.compile(r"^(fp|fo|fv|pn|pz|pe)-(\d+)$")


@dataclass
class ParameterRow:
    name: str = ""
    description_zh: str = ""
    description_en: str = ""


def _many(pairs: Pairs, name: str) -> list[str]:
    return [v.strip() for k, v in pairs if k == name]


def _at(values: list[str], i: int) -> str:
    return values[i] if i < len(values) else ""


def read_filter_rows(pairs: Pairs) -> list[FilterRow]:
    """The submitted filter rows, blank ones included (while rows are being added, an empty
    one stays); an unknown operator is kept: the definition refuses it, naming the row."""
    props, ops, values = _many(pairs, "fp"), _many(pairs, "fo"), _many(pairs, "fv")
    return [
        FilterRow(prop, _at(ops, i) or "eq", _at(values, i))
        for i, prop in enumerate(props[:MAX_ROWS])
    ]


def read_parameter_rows(pairs: Pairs) -> list[ParameterRow]:
    names, zh, en = _many(pairs, "pn"), _many(pairs, "pz"), _many(pairs, "pe")
    return [ParameterRow(name, _at(zh, i), _at(en, i)) for i, name in enumerate(names[:MAX_ROWS])]


def without_blank_rows(
    filters: list[FilterRow], parameters: list[ParameterRow]
) -> tuple[list[FilterRow], list[ParameterRow]]:
    """The rows a save keeps: those with something typed in them."""
    return (
        [r for r in filters if r.property or r.value],
        [r for r in parameters if r.name or r.description_zh or r.description_en],
    )


def edit_rows(
    filters: list[FilterRow], parameters: list[ParameterRow], add: str, remove: str
) -> bool:
    """Apply the form's add / remove buttons to the rows; True when one was pressed."""
    if add == "filter" and len(filters) < MAX_ROWS:
        filters.append(FilterRow())
    elif add == "parameter" and len(parameters) < MAX_ROWS:
        parameters.append(ParameterRow())
    what, _, index = remove.partition(":")
    rows: dict[str, list[Any]] = {"filter": filters, "parameter": parameters}
    if what in rows and index.isdigit() and int(index) < len(rows[what]):
        del rows[what][int(index)]
    return bool(add or remove)


def filter_definitions(rows: list[FilterRow]) -> list[dict[str, Any]]:
    """The definition's `filters`: `{name}` for a parameter, else a list for in / not_in
    (comma-separated), a number for comparisons, no value for is_set / is_not_set, the text."""
    out = []
    for i, row in enumerate(rows):
        if not row.property:
            raise InvalidInput("a filter names a property", f"fp-{i}")
        if row.op not in OPS:
            raise InvalidInput(f"unknown filter operator {row.op!r}", f"fo-{i}")
        value: Any = row.value
        if row.op in NO_VALUE_OPS:
            value = None
        elif PARAMETER.match(row.value):
            pass  # the parameter's value, given at query time
        elif row.op in LIST_OPS:
            value = [v.strip() for v in row.value.replace("，", ",").split(",") if v.strip()]
            if not value:
                raise InvalidInput("list at least one value", f"fv-{i}")
        elif row.op in NUMBER_OPS:
            try:
                value = float(row.value) if "." in row.value else int(row.value)
            except ValueError:
                raise InvalidInput(f"filter {row.property!r} needs a number", f"fv-{i}") from None
        elif not row.value:
            raise InvalidInput(f"filter {row.property!r} needs a value", f"fv-{i}")
        out.append({"property": row.property, "op": row.op, "value": value})
    return out


def parameter_definitions(rows: list[ParameterRow]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i, row in enumerate(rows):
        if not re.match(KEY_PATTERN, row.name) or row.name in out:
            raise InvalidInput("a parameter's name: snake_case, once", f"pn-{i}")
        out[row.name] = {"zh-CN": row.description_zh, "en": row.description_en}
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def stored_filter_rows(definition: dict[str, Any]) -> list[FilterRow]:
    return [
        FilterRow(str(f.get("property", "")), str(f.get("op", "eq")), _text(f.get("value")))
        for f in definition.get("filters") or []
        if isinstance(f, dict)
    ]


def stored_parameter_rows(definition: dict[str, Any]) -> list[ParameterRow]:
    params = definition.get("parameters") or {}
    return [
        ParameterRow(str(name), str(text.get("zh-CN", "")), str(text.get("en", "")))
        for name, text in params.items()
        if isinstance(text, dict)
    ]


def row_field(field: str, parameters: list[ParameterRow]) -> str | None:
    """The row input a catalog error names: `filters.1.value` → fv-1, `parameters.feature.en`
    → pe-<row of feature>; a row input (`fv-1`) as it is."""
    if ROW_FIELD.match(field):
        return field
    parts = field.split(".")
    if parts[0] == "filters" and len(parts) >= 2 and parts[1].isdigit():
        column = {"property": "fp", "op": "fo"}.get(parts[2] if len(parts) > 2 else "", "fv")
        return f"{column}-{parts[1]}"
    if parts[0] == "parameters":
        names = [p.name for p in parameters]
        if len(parts) >= 2 and parts[1] in names:
            i = names.index(parts[1])
            rest = parts[2] if len(parts) > 2 else ""
            return f"{'pz' if rest.startswith('zh') else 'pe' if rest else 'pn'}-{i}"
        return "pn-0" if names else None
    return None


def row_label(field: str, language: str) -> str | None:
    """The translated label of a row input (`fv-1` → "Filter 2: value")."""
    m = ROW_FIELD.match(field)
    if m is None:
        return None
    return translate(language, ROW_LABELS[m.group(1)]) % {"n": int(m.group(2)) + 1}
