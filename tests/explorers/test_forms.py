"""Explorer forms: URL parameters → the REST body, the same form back from its parameters and
from a saved body, rows added and removed by buttons, and bad input named by its parameter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsloop.analytics.service import parse_query
from opsloop.errors import InvalidInput
from opsloop.explorers.forms import (
    KINDS,
    ExplorerForm,
    FilterRow,
    SeriesRow,
    read_form,
    to_query,
)
from opsloop.explorers.params import form_from_query, form_params

DAYS = [("from", "2026-11-01"), ("to", "2026-11-07")]


def _read(kind: str, params: list[tuple[str, str]]) -> ExplorerForm:
    return read_form(kind, params, ExplorerForm(kind=kind))


def test_trends_form_makes_the_rest_body() -> None:
    form = _read(
        "trends",
        [
            *DAYS,
            ("se", "pay"), ("sm", "sum"), ("sp", "amount"),
            ("se", "$any"), ("sm", "unique_users"), ("sp", ""),
            ("interval", "week"), ("compare", "previous_period"), ("breakdown", "channel"),
            ("fp", "platform"), ("fo", "in"), ("fv", "iOS， Android"),
            ("fp", "amount"), ("fo", "gte"), ("fv", "99.5"),
            ("fp", ""), ("fo", "eq"), ("fv", "ignored"),
        ],
    )  # fmt: skip
    assert to_query(form) == {
        "kind": "trends",
        "series": [
            {"event": "pay", "math": "sum", "property": "amount"},
            {"event": "$any", "math": "unique_users"},
        ],
        "date_from": "2026-11-01",
        "date_to": "2026-11-07",
        "interval": "week",
        "compare": "previous_period",
        "breakdown": "channel",
        "filters": [
            {"property": "platform", "op": "in", "value": ["iOS", "Android"]},
            {"property": "amount", "op": "gte", "value": 99.5},
        ],
    }
    parse_query(to_query(form))  # the engine accepts it


def test_each_kind_makes_a_body_the_engine_accepts() -> None:
    bodies = {
        "funnel": [("step", "view_item"), ("step", "pay"), ("window", "2"),
                   ("window_unit", "hour")],
        "retention": [("start", "sign_up"), ("return", "pay"), ("interval", "week"),
                      ("periods", "4")],
        "paths": [("anchor", "end"), ("anchor_event", "pay"), ("depth", "3"), ("session", "30")],
        "lifecycle": [("event", "app_open"), ("interval", "month")],
        "rfm": [("event", "pay"), ("amount", "amount"), ("segment", "重要价值客户"), ("page", "2")],
    }  # fmt: skip
    expected: dict[str, dict[str, Any]] = {
        "funnel": {"steps": [{"event": "view_item"}, {"event": "pay"}], "window_seconds": 7200},
        "retention": {"start_event": "sign_up", "return_event": "pay", "period": "week",
                      "periods": 4},
        "paths": {"end_event": "pay", "depth": 3, "session_minutes": 30, "link_limit": 30},
        "lifecycle": {"event": "app_open", "interval": "month"},
        "rfm": {"event": "pay", "amount_property": "amount", "segment": "重要价值客户",
                "limit": 50, "offset": 100, "as_of": "2026-11-07"},
    }  # fmt: skip
    for kind, params in bodies.items():
        body = to_query(_read(kind, [*DAYS, *params]))
        assert body["kind"] == kind
        assert {k: body[k] for k in expected[kind]} == expected[kind]
        parse_query(body)


def test_add_and_remove_buttons_edit_rows() -> None:
    steps = [("step", "a"), ("step", "b"), ("step", "c")]
    assert _read("funnel", [*DAYS, *steps, ("add", "step")]).steps == ["a", "b", "c", ""]
    assert _read("funnel", [*DAYS, *steps, ("remove", "step:1")]).steps == ["a", "c"]
    assert _read("funnel", [*DAYS, *steps, ("remove", "step:9")]).steps == ["a", "b", "c"]
    form = _read("trends", [*DAYS, ("se", "pay"), ("sm", "total"), ("add", "filter")])
    assert form.filters == [FilterRow()]
    form = _read("trends", [*DAYS, ("se", "pay"), ("sm", "total"), ("remove", "series:0")])
    assert form.series == [SeriesRow()]  # never without a series
    form = _read("trends", [*DAYS, ("se", "pay"), ("sm", "total"), ("add", "series")])
    assert [s.event for s in form.series] == ["pay", "$any"]


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("trends", [("interval", "fortnight")], "interval"),
        ("trends", [("se", "pay"), ("sm", "median")], "sm[0]"),
        ("trends", [("fp", "x"), ("fo", "like")], "fo[0]"),
        ("retention", [("periods", "many")], "periods"),
        ("retention", [("periods", "0")], "periods"),
        ("paths", [("depth", "99")], "depth"),
        ("rfm", [("page", "-1")], "page"),
    ],
)
def test_bad_parameters_are_named(kind: str, params: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _read(kind, [*DAYS, *params])
    assert caught.value.field == field


def test_a_comparison_filter_needs_a_number() -> None:
    form = _read("trends", [*DAYS, ("fp", "amount"), ("fo", "gt"), ("fv", "lots")])
    with pytest.raises(InvalidInput) as caught:
        to_query(form)
    assert caught.value.field == "fv"


events = st.sampled_from(["pay", "view_item", "$any", "分享"])
filters = st.lists(
    st.builds(
        FilterRow,
        st.sampled_from(["channel", "person.city", "amount"]),
        st.sampled_from(["eq", "neq", "in", "gte", "is_set", "contains"]),
        st.sampled_from(["1", "2.5", "小红书", "a, b"]),
    ).filter(lambda f: f.op != "gte" or f.value in ("1", "2.5")),
    max_size=3,
)


@st.composite
def forms(draw: st.DrawFn) -> ExplorerForm:
    kind = draw(st.sampled_from(KINDS))
    form = ExplorerForm(kind=kind, date_from="2026-10-01", date_to="2026-10-31")
    form.filters = [f for f in draw(filters) if f.op not in ("in",) or f.value == "a, b"]
    if kind == "trends":
        form.series = draw(
            st.lists(
                st.builds(
                    SeriesRow, events, st.sampled_from(["total", "unique_users"]), st.just("")
                ),
                min_size=1,
                max_size=3,
            )
        )
        form.interval = draw(st.sampled_from(["day", "week", "month"]))
        form.compare = draw(st.sampled_from(["", "previous_week"]))
    elif kind == "funnel":
        form.steps = draw(st.lists(events, min_size=2, max_size=4))
        form.window, form.window_unit = draw(
            st.sampled_from([(2, "hour"), (3, "day"), (45, "minute")])
        )
    elif kind == "retention":
        form.start_event, form.return_event = draw(events), draw(events)
        form.interval, form.periods = (
            draw(st.sampled_from(["day", "week"])),
            draw(st.integers(1, 12)),
        )
    elif kind == "paths":
        form.anchor = draw(st.sampled_from(["start", "end"]))
        form.anchor_event = draw(events.filter(lambda e: e != "$any"))
        form.depth = draw(st.integers(2, 10))
    elif kind == "lifecycle":
        form.event, form.interval = draw(events), draw(st.sampled_from(["day", "week", "month"]))
    else:
        form.event, form.amount_property = "pay", "amount"
    if kind in ("trends", "funnel", "retention"):
        form.breakdown = draw(st.sampled_from(["", "channel", "person.city"]))
    return form


@given(forms())
def test_parameters_and_saved_bodies_give_the_same_query_back(form: ExplorerForm) -> None:
    body = to_query(form)
    again = read_form(form.kind, form_params(form), ExplorerForm(kind=form.kind))
    assert to_query(again) == body
    assert to_query(form_from_query(body)) == body
