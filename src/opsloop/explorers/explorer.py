"""One explorer run: the form read over its defaults, the query run through the analytics engine
(as POST /api/v1/query runs it, cache included), and its chart and table built for the reader."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsloop.analytics.catalog.catalog import builtin_catalog
from opsloop.analytics.catalog.service import list_metrics, load_definitions
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.rfm import default_window_start
from opsloop.analytics.segments.service import cohort_resolver
from opsloop.analytics.service import parse_query, run_query
from opsloop.errors import InvalidInput
from opsloop.events import EventStore
from opsloop.events.activity import DayRange, event_names, latest_day, property_names
from opsloop.events.schema import PERSON_ONLY_EVENTS
from opsloop.explorers.forms import ANY, ExplorerForm, Params, read_form, to_query
from opsloop.explorers.tables import ResultTable, result_table, rfm_members_table
from opsloop.web.charts import Chart, chart_for, trends_chart
from opsloop.web.i18n import N_, translate
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef

DEFAULT_DAYS = 30
# Funnel steps offered on a first visit, where the workspace has these events (a shop's path).
FUNNEL_GUESS = ("view_item", "add_to_cart", "checkout", "pay")
MSG_NEED_STEPS = N_("Choose at least two steps to see the funnel.")
MSG_ANY_EVENT = N_("Any event")
MATH_NAMES = {
    "total": N_("Total events"),
    "unique_users": N_("Unique users"),
    "sum": N_("Sum of %(property)s"),
    "avg": N_("Average %(property)s"),
    "min": N_("Minimum %(property)s"),
    "max": N_("Maximum %(property)s"),
}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What the workspace's pickers offer: event names and property keys."""

    events: list[str]
    event_properties: list[str]
    person_properties: list[str]
    # The catalog's metrics a trend series may chart: (key, zh-CN name, en name).
    metrics: list[tuple[str, str, str]] = field(default_factory=list)

    def metric_names(self, language: str) -> dict[str, str]:
        return {key: zh if language == "zh-CN" else en for key, zh, en in self.metrics}

    @property
    def breakdowns(self) -> list[str]:
        return [*self.event_properties, *(f"person.{p}" for p in self.person_properties)]


def catalog_names(state: AppState, workspace_id: int) -> list[tuple[str, str, str]]:
    """The workspace's catalog (built-in and own metrics): (key, zh-CN name, en name)."""
    with state.db.session() as s:
        return [
            (i.metric.key, i.metric.name.zh_CN, i.metric.name.en)
            for i in list_metrics(s, workspace_id)
        ]


PROFILE_OPERATIONS = frozenset({"$set", "$set_once", "$unset"})
StoreNames = tuple[list[str], list[str], list[str]]  # events, event properties, person properties
# The event store's names per workspace, with the data version they were read at: every page
# with pickers needs them, and reading them scans events (~0.5 s on the 20,000-user demo).
_NAMES: weakref.WeakKeyDictionary[EventStore, dict[int, tuple[int, StoreNames]]] = (
    weakref.WeakKeyDictionary()
)
_NAMES_LOCK = threading.Lock()


def store_names(store: EventStore, workspace_id: int) -> StoreNames:
    """The workspace's event names and property keys, read again only after a write."""
    version = store.data_version
    with _NAMES_LOCK:
        known = _NAMES.get(store, {}).get(workspace_id)
    if known is not None and known[0] == version:
        return known[1]
    events = [e for e in event_names(store, workspace_id) if e not in PERSON_ONLY_EVENTS]
    event_props, person_props = property_names(store, workspace_id)
    # Profile operations an SDK sends inside an event's properties are no property to pick.
    event_props = [p for p in event_props if p not in PROFILE_OPERATIONS]
    names: StoreNames = (events, event_props, person_props)
    with _NAMES_LOCK:
        _NAMES.setdefault(store, {})[workspace_id] = (version, names)
    return names


def vocabulary(state: AppState, workspace_id: int) -> Vocabulary:
    events, event_props, person_props = store_names(state.store, workspace_id)
    return Vocabulary(
        list(events), list(event_props), list(person_props), catalog_names(state, workspace_id)
    )


def default_form(kind: str, state: AppState, ws: WorkspaceRef, vocab: Vocabulary) -> ExplorerForm:
    """A first visit's form: the 30 days up to the newest event (or today), and a query that
    shows something."""
    days = DayRange.ending(latest_day(state.store, ws.id, ws.timezone), DEFAULT_DAYS)
    form = ExplorerForm(kind=kind, date_from=days.first.isoformat(), date_to=days.last.isoformat())
    if kind == "funnel":
        guess = [e for e in FUNNEL_GUESS if e in vocab.events]
        form.steps = guess if len(guess) >= 2 else ["", ""]
    elif kind == "paths":
        form.anchor = "none"
    elif kind == "rfm":
        form.event, form.amount_property = "pay", "amount"
        # The RFM query's own default window, as the rfm_segment rule reads it.
        form.date_from = default_window_start(days.last).isoformat()
    return form


def series_names(
    form: ExplorerForm, language: str, metric_names: Mapping[str, str] | None = None
) -> list[str]:
    """Trend series as people read them: 'pay · Unique users', 'Any event · Total events', or a
    catalog metric's name ('付费转化率')."""
    names = []
    for s in form.series:
        if s.metric:
            names.append(_metric_name(s.metric, language, metric_names or {}))
            continue
        event = translate(language, MSG_ANY_EVENT) if s.event in ("", ANY) else s.event
        math = translate(language, MATH_NAMES[s.math]) % {"property": s.property}
        names.append(f"{event} · {math}")
    return names


@dataclass
class Outcome:
    form: ExplorerForm
    body: dict[str, Any] | None = None  # the REST body, None while the form is incomplete
    answer: dict[str, Any] | None = None
    chart: Chart | None = None
    table: ResultTable | None = None
    members: ResultTable | None = None  # RFM: the page of persons
    problem: InvalidInput | None = None
    missing: str | None = None  # a message id: what the form still needs
    notes: list[str] = field(default_factory=list)


def run_body(state: AppState, ws: WorkspaceRef, body: dict[str, Any]) -> dict[str, Any]:
    """Run a REST body for a workspace, as POST /api/v1/query does."""
    query = parse_query(body)
    with state.db.session() as s:
        segments = cohort_resolver(s, ws.id)
        definitions = load_definitions(s, ws.id)
        ctx = QueryContext(ws.id, ws.timezone, DuckDbEngine(state.store), segments, definitions)
        return run_query(ctx, query, state.query_cache)


def _metric_name(key: str, language: str, names: Mapping[str, str]) -> str:
    if key in names:
        return names[key]
    builtin = builtin_catalog()
    if key in builtin:
        name = builtin.metrics[key].name
        return name.zh_CN if language == "zh-CN" else name.en
    return key


def build_outcome(
    outcome: Outcome,
    answer: dict[str, Any],
    language: str,
    metric_names: Mapping[str, str] | None = None,
) -> Outcome:
    """The chart and tables of an answer (`metric_names`: the workspace's metrics by key, in the
    reader's language, for series that chart one)."""
    form = outcome.form
    body = outcome.body or {}
    answer = {**answer, "breakdown": body.get("breakdown")}
    outcome.answer = answer
    if form.kind == "trends":
        names = series_names(form, language, metric_names)
        bars = form.display == "bar"
        outcome.chart = trends_chart(
            answer, language, display="bar" if bars else "line", names=names
        )
        outcome.table = result_table(answer, language, names)
    else:
        outcome.chart = chart_for(answer, language)
        outcome.table = result_table(answer, language)
    if form.kind == "rfm":
        outcome.members = rfm_members_table(answer, language)
    return outcome


def explore(
    state: AppState, ws: WorkspaceRef, kind: str, params: Params, language: str
) -> tuple[Outcome, Vocabulary]:
    vocab = vocabulary(state, ws.id)
    defaults = default_form(kind, state, ws, vocab)
    try:
        form = read_form(kind, params, defaults)
    except InvalidInput as exc:
        return Outcome(defaults, problem=exc), vocab
    outcome = Outcome(form)
    if kind == "funnel" and len([s for s in form.steps if s]) < 2:
        outcome.missing = MSG_NEED_STEPS
        while len(form.steps) < 2:
            form.steps.append("")
        return outcome, vocab
    try:
        outcome.body = to_query(form)
        answer = run_body(state, ws, outcome.body)
    except InvalidInput as exc:
        outcome.problem = exc
        return outcome, vocab
    return build_outcome(outcome, answer, language, vocab.metric_names(language)), vocab
