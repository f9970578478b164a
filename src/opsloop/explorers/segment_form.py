"""The segment builder's form: condition rows (a person property, did / did not do an event, an
RFM segment, a lifecycle stage, a saved segment), each possibly negated, combined with AND or OR;
or any rule of the rule language typed as JSON (nesting AND / OR / NOT freely). Read from GET
parameters, turned into the rule, and back from a saved rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from opsloop.errors import InvalidInput
from opsloop.explorers.forms import FilterRow, Params, filter_value

ROW_TYPES = ("person", "did", "did_not", "rfm_segment", "lifecycle", "cohort")
STAGES = ("new", "returning", "resurrecting", "dormant")
MAX_ROWS = 12


@dataclass
class ConditionRow:
    type: str = "person"
    negate: bool = False
    subject: str = ""  # property, event, RFM segment, stage, or saved segment id
    op: str = "eq"  # person: operator; lifecycle: interval
    value: str = ""  # person: value; did: at least
    days: str = ""  # did / did_not: in the last N days (blank: ever)


@dataclass
class SegmentForm:
    combine: str = "and"
    rows: list[ConditionRow] = field(
        default_factory=lambda: [ConditionRow("did", subject="$any", value="1", days="30")]
    )
    rule_json: str = ""  # when given, the rule as typed (it wins over the rows)
    as_of: str = ""
    page: int = 0


def _positive(text: str, field_name: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise InvalidInput(f"{field_name} must be a whole number of at least 1", field_name)
    return int(text)


def row_rule(row: ConditionRow, i: int) -> dict[str, Any]:
    """One row as a rule of the language (negated with "not")."""
    where = f"rows[{i}]"
    if not row.subject:
        raise InvalidInput(f"{where}: choose what the condition is about", f"ca[{i}]")
    rule: dict[str, Any]
    if row.type == "person":
        value = filter_value(FilterRow(row.subject, row.op, row.value))
        rule = {"person": row.subject.removeprefix("person."), "op": row.op, "value": value}
    elif row.type in ("did", "did_not"):
        rule = {row.type: row.subject}
        if row.type == "did" and row.value.strip():
            rule["at_least"] = _positive(row.value, f"cv[{i}]")
        if row.days.strip():
            rule["in_last_days"] = _positive(row.days, f"cd[{i}]")
    elif row.type == "rfm_segment":
        rule = {"rfm_segment": row.subject}
    elif row.type == "lifecycle":
        rule = {
            "lifecycle": row.subject,
            "interval": row.op if row.op in ("day", "week", "month") else "week",
        }
    else:
        rule = {"cohort": _positive(row.subject, f"ca[{i}]")}
    return {"not": rule} if row.negate else rule


def form_rule(form: SegmentForm) -> dict[str, Any]:
    if form.rule_json.strip():
        try:
            rule = orjson.loads(form.rule_json)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the rule is not JSON: {exc}", "rule") from None
        if not isinstance(rule, dict):
            raise InvalidInput("the rule is a JSON object", "rule")
        return rule
    rules = [row_rule(r, i) for i, r in enumerate(form.rows)]
    if not rules:
        raise InvalidInput("add at least one condition", "rows")
    return rules[0] if len(rules) == 1 else {form.combine: rules}


def read_segment_form(params: Params) -> SegmentForm:
    values: dict[str, list[str]] = {}
    for k, v in params:
        values.setdefault(k, []).append(v.strip())

    def one(name: str, default: str = "") -> str:
        return (values.get(name) or [default])[-1]

    form = SegmentForm(combine="or" if one("combine") == "or" else "and")
    form.rule_json, form.as_of = one("rule"), one("as_of")
    if "ct" in values:
        types = values["ct"][:MAX_ROWS]
        cols = {name: values.get(name, []) for name in ("cn", "ca", "co", "cv", "cd")}

        def col(name: str, i: int) -> str:
            return cols[name][i] if i < len(cols[name]) else ""

        form.rows = []
        for i, kind in enumerate(types):
            if kind not in ROW_TYPES:
                raise InvalidInput(f"unknown condition type {kind!r}", f"ct[{i}]")
            form.rows.append(
                ConditionRow(
                    kind, col("cn", i) == "not", col("ca", i), col("co", i) or "eq",
                    col("cv", i), col("cd", i),
                )
            )  # fmt: skip
    page = one("page", "0")
    if not page.isdigit():
        raise InvalidInput("page must be a whole number", "page")
    form.page = int(page)
    add, remove = one("add"), one("remove")
    if add in ROW_TYPES and len(form.rows) < MAX_ROWS:
        form.rows.append(ConditionRow(add, value="1" if add == "did" else ""))
    what, _, index = remove.partition(":")
    if what == "row" and index.isdigit() and int(index) < len(form.rows):
        del form.rows[int(index)]
    return form


def _row_of(rule: dict[str, Any]) -> ConditionRow | None:
    negate = "not" in rule and len(rule) == 1 and isinstance(rule["not"], dict)
    inner = rule["not"] if negate else rule
    row: ConditionRow | None = None
    if "person" in inner:
        value = inner.get("value")
        text = (
            ", ".join(map(str, value))
            if isinstance(value, list)
            else ("" if value is None else str(value))
        )
        row = ConditionRow(
            "person", subject=str(inner["person"]), op=str(inner.get("op", "eq")), value=text
        )
    elif "did" in inner and set(inner) <= {"did", "at_least", "in_last_days"}:
        row = ConditionRow("did", subject=str(inner["did"]), value=str(inner.get("at_least", 1)),
                           days=str(inner.get("in_last_days", "")))  # fmt: skip
    elif "did_not" in inner and set(inner) <= {"did_not", "in_last_days"}:
        row = ConditionRow(
            "did_not", subject=str(inner["did_not"]), days=str(inner.get("in_last_days", ""))
        )
    elif "rfm_segment" in inner and set(inner) == {"rfm_segment"}:
        row = ConditionRow("rfm_segment", subject=str(inner["rfm_segment"]))
    elif "lifecycle" in inner and set(inner) <= {"lifecycle", "interval"}:
        row = ConditionRow(
            "lifecycle", subject=str(inner["lifecycle"]), op=str(inner.get("interval", "week"))
        )
    elif "cohort" in inner:
        row = ConditionRow("cohort", subject=str(inner["cohort"]))
    if row is not None:
        row.negate = negate
    return row


def form_of_rule(rule: dict[str, Any]) -> SegmentForm:
    """The builder showing a rule: as rows when it is one level of AND / OR, else as JSON."""
    combine = "and"
    parts = [rule]
    for key in ("and", "or"):
        if key in rule and len(rule) == 1 and isinstance(rule[key], list):
            combine, parts = key, rule[key]
    rows = [_row_of(p) if isinstance(p, dict) else None for p in parts]
    if any(r is None for r in rows):
        return SegmentForm(rows=[], rule_json=orjson.dumps(rule).decode())
    return SegmentForm(combine=combine, rows=[r for r in rows if r is not None])


def segment_params(form: SegmentForm) -> Params:
    params: Params = [("combine", form.combine)]
    if form.rule_json:
        params.append(("rule", form.rule_json))
    for r in form.rows:
        params += [("ct", r.type), ("cn", "not" if r.negate else "is"), ("ca", r.subject),
                   ("co", r.op), ("cv", r.value), ("cd", r.days)]  # fmt: skip
    if form.as_of:
        params.append(("as_of", form.as_of))
    return params
