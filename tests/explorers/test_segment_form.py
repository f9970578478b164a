"""The segment builder's form: rows to a rule (negation, AND / OR), typed JSON winning over the
rows, a saved rule shown back as rows (or as JSON when it nests), and bad rows named."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.analytics.segments.rules import parse_rule
from opsloop.errors import InvalidInput
from opsloop.explorers.segment_form import (
    ConditionRow,
    SegmentForm,
    form_of_rule,
    form_rule,
    read_segment_form,
    segment_params,
)


def _row(
    ct: str, ca: str, *, cn: str = "is", co: str = "eq", cv: str = "", cd: str = ""
) -> list[tuple[str, str]]:
    return [("ct", ct), ("cn", cn), ("ca", ca), ("co", co), ("cv", cv), ("cd", cd)]


def test_rows_make_the_rule() -> None:
    params = [
        ("combine", "or"),
        *_row("did", "pay", cv="2", cd="30"),
        *_row("person", "city", cn="not", co="in", cv="上海, 北京"),
        *_row("did_not", "app_open", cd="14"),
        *_row("rfm_segment", "重要价值客户"),
        *_row("lifecycle", "dormant", co="week"),
        *_row("cohort", "3"),
    ]
    rule = form_rule(read_segment_form(params))
    assert rule == {
        "or": [
            {"did": "pay", "at_least": 2, "in_last_days": 30},
            {"not": {"person": "city", "op": "in", "value": ["上海", "北京"]}},
            {"did_not": "app_open", "in_last_days": 14},
            {"rfm_segment": "重要价值客户"},
            {"lifecycle": "dormant", "interval": "week"},
            {"cohort": 3},
        ]
    }
    parse_rule(rule)  # the rule language accepts it


def test_one_row_is_the_rule_itself_and_json_wins() -> None:
    assert form_rule(read_segment_form(_row("did", "$any", cv="1"))) == {
        "did": "$any",
        "at_least": 1,
    }
    typed = '{"not": {"or": [{"did": "pay"}, {"cohort": 1}]}}'
    form = read_segment_form([*_row("did", "pay"), ("rule", typed)])
    assert form_rule(form) == {"not": {"or": [{"did": "pay"}, {"cohort": 1}]}}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (_row("did", "pay", cv="0"), "cv[0]"),
        (_row("did", "pay", cd="soon"), "cd[0]"),
        (_row("person", ""), "ca[0]"),
        (_row("cohort", "x"), "ca[0]"),
        ([("ct", "magic")], "ct[0]"),
        ([("rule", "{not json")], "rule"),
        ([("rule", "[1, 2]")], "rule"),
    ],
)
def test_bad_rows_are_named(params: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        form_rule(read_segment_form(params))
    assert caught.value.field == field


def test_add_and_remove_rows() -> None:
    form = read_segment_form([*_row("did", "pay"), ("add", "lifecycle")])
    assert [r.type for r in form.rows] == ["did", "lifecycle"]
    form = read_segment_form([*_row("did", "pay"), *_row("person", "city"), ("remove", "row:0")])
    assert [r.type for r in form.rows] == ["person"]


@pytest.mark.parametrize(
    "rule",
    [
        {
            "and": [
                {"did": "pay", "at_least": 2, "in_last_days": 30},
                {"not": {"person": "city", "op": "eq", "value": "上海"}},
            ]
        },
        {"or": [{"rfm_segment": "重要价值客户"}, {"lifecycle": "new", "interval": "day"}]},
        {"did_not": "app_open", "in_last_days": 7},
        {"cohort": 5},
    ],
)
def test_saved_rules_open_as_rows_and_give_the_same_rule(rule: dict[str, Any]) -> None:
    form = form_of_rule(rule)
    assert form.rule_json == "" and form.rows
    assert form_rule(read_segment_form(segment_params(form))) == rule


def test_nested_rules_open_as_json() -> None:
    rule = {"and": [{"or": [{"did": "pay"}, {"did": "share"}]}, {"cohort": 2}]}
    form = form_of_rule(rule)
    assert form.rows == [] and form_rule(form) == rule
    assert form_rule(read_segment_form(segment_params(form))) == rule


def test_defaults_pick_the_recently_active() -> None:
    assert SegmentForm().rows == [ConditionRow("did", subject="$any", value="1", days="30")]
