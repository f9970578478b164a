"""Finding persons: by distinct_id (substring, exact match first), or by person properties and
recent activity through the segment query (the same rule language as saved segments)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opsloop.errors import InvalidInput
from opsloop.events.activity import find_distinct_ids, latest_day
from opsloop.explorers.explorer import run_body
from opsloop.explorers.forms import FilterRow, Params, filter_value
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef

PAGE = 50
EXPORT_LIMIT = 10_000
MAX_COLUMNS = 6  # person properties shown as columns
ACTIVE_CHOICES = (0, 1, 7, 30, 90)
EVERYONE = {"did": "$any", "at_least": 0}  # no condition: every person


@dataclass
class UserSearch:
    text: str = ""
    filters: list[FilterRow] = field(default_factory=list)
    active_days: int = 7
    page: int = 0

    def rule(self) -> dict[str, Any]:
        """The segment rule of the property filters and the activity window."""
        parts: list[dict[str, Any]] = [
            {"person": f.property.removeprefix("person."), "op": f.op, "value": filter_value(f)}
            for f in self.filters
            if f.property
        ]
        if self.active_days:
            parts.append({"did": "$any", "in_last_days": self.active_days})
        if not parts:
            return EVERYONE
        return parts[0] if len(parts) == 1 else {"and": parts}


@dataclass(frozen=True, slots=True)
class Found:
    persons: Sequence[tuple[str | None, str, dict[str, Any]]]  # (distinct_id, person id, props)
    total: int
    exact: str | None  # the distinct_id searched, when a person has exactly it
    columns: list[str]


def read_search(params: Params) -> UserSearch:
    values: dict[str, list[str]] = {}
    for k, v in params:
        values.setdefault(k, []).append(v.strip())
    search = UserSearch(text=(values.get("q") or [""])[-1])
    props, ops, vals = values.get("fp", []), values.get("fo", []), values.get("fv", [])
    for i, prop in enumerate(props[:10]):
        op = ops[i] if i < len(ops) and ops[i] else "eq"
        search.filters.append(FilterRow(prop, op, vals[i] if i < len(vals) else ""))
    active = (values.get("active") or ["7"])[-1]
    if active not in {str(c) for c in ACTIVE_CHOICES}:
        raise InvalidInput(f"active must be one of {', '.join(map(str, ACTIVE_CHOICES))}", "active")
    search.active_days = int(active)
    page = (values.get("page") or ["0"])[-1]
    if not (page.isascii() and page.isdigit()) or int(page) > 100_000:
        raise InvalidInput("page must be a whole number", "page")
    search.page = int(page)
    return search


def common_keys(rows: list[dict[str, Any]]) -> list[str]:
    counts = Counter(k for props in rows for k in props if not k.startswith("$"))
    return [k for k, _ in counts.most_common(MAX_COLUMNS)]


def find(state: AppState, ws: WorkspaceRef, search: UserSearch, *, limit: int = PAGE) -> Found:
    if search.text:
        hits = find_distinct_ids(state.store, ws.id, search.text, limit)
        persons = [(d, pid, props) for d, pid, props in hits]
        exact = search.text if hits and hits[0][0] == search.text else None
        return Found(persons, len(persons), exact, common_keys([p for _, _, p in persons]))
    body = {
        "kind": "segment",
        "rule": search.rule(),
        "as_of": latest_day(state.store, ws.id, ws.timezone).isoformat(),
        "limit": limit,
        "offset": search.page * PAGE,
    }
    answer = run_body(state, ws, body)
    persons = [(r["distinct_id"], r["person_id"], r["properties"]) for r in answer["results"]]
    return Found(persons, int(answer["count"]), None, common_keys([p for _, _, p in persons]))
