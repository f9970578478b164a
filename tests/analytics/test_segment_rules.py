"""The segment rule language: random rule trees over random logs against a plain-Python evaluator
written from the rule semantics, DuckDB against ClickHouse, and errors that name their path."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.clickhouse import export_parquet, load_parquet
from opsloop.analytics.queries.rfm import SEGMENTS, segment_index
from opsloop.analytics.queries.segment import SegmentQuery, run_segment
from opsloop.analytics.segments.compiler import Cohort
from opsloop.analytics.segments.rules import parse_rule
from opsloop.errors import InvalidInput
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.logs import ChdbPool, Loaded, Row, load_log, person_id
from tests.analytics.test_rfm import rfm_reference

AS_OF = date(2026, 3, 18)  # a Wednesday


def load_people(
    rows: list[Row], people: dict[str, dict[str, Any]], pool: ChdbPool, database: str = "log"
) -> Loaded:
    """load_log, then person properties set in the store and the chdb copy reloaded."""
    loaded = load_log(rows, pool, database=database)
    store = loaded.duck.engine.store  # type: ignore[attr-defined]
    known = set(loaded.frame["person"])
    given_props = {p: v for p, v in people.items() if p in known and v}
    if given_props:
        table = pa.table(
            {
                "distinct_id": list(given_props),
                "properties": [orjson.dumps(v).decode() for v in given_props.values()],
            }
        )
        store.set_person_properties(1, table)
        folder = Path(tempfile.mkdtemp(prefix="opsloop-people-"))
        load_parquet(pool.session, export_parquet(store.cursor(), folder), database)
    return loaded


# -- the reference: plain Python over the rows, from the rule language's definition -----------


class Reference:
    def __init__(self, frame: pd.DataFrame, people: dict[str, dict[str, Any]], as_of: date):
        self.frame = frame.assign(day=frame["local"].dt.date)
        self.people = {p: people.get(p, {}) for p in frame["person"].unique()}
        self.as_of = as_of
        self.cohorts: dict[int, Any] = {}

    def eval(self, rule: dict[str, Any]) -> set[str]:
        everyone = set(self.people)
        if "and" in rule:
            return set.intersection(*(self.eval(r) for r in rule["and"]))
        if "or" in rule:
            return set.union(*(self.eval(r) for r in rule["or"]))
        if "not" in rule:
            return everyone - self.eval(rule["not"])
        if "person" in rule:
            test = person_test(rule)
            return {p for p, props in self.people.items() if test(props.get(rule["person"]))}
        if "did" in rule or "did_not" in rule:
            return self.did(rule)
        if "rfm_segment" in rule:
            ref = rfm_reference(self.frame, {"as_of": self.as_of})
            name = SEGMENTS[segment_index(rule["rfm_segment"]) or 0][0]
            return set(ref[ref["segment"] == name]["person"])
        if "lifecycle" in rule:
            return self.lifecycle(rule)
        cohort = self.cohorts[rule["cohort"]]
        return set(cohort) if isinstance(cohort, list) else self.eval(cohort)

    def events(self, name: str) -> pd.DataFrame:
        e = self.frame
        if name == "$any":
            return e[~e["event"].isin(PERSON_ONLY_EVENTS)]
        return e[e["event"] == name]

    def did(self, rule: dict[str, Any]) -> set[str]:
        e = self.events(rule.get("did", rule.get("did_not")))
        if "between" in rule:
            lo, hi = (date.fromisoformat(x) for x in rule["between"])
        elif "in_last_days" in rule:
            lo, hi = self.as_of - timedelta(days=rule["in_last_days"] - 1), self.as_of
        else:
            lo, hi = date.min, self.as_of
        e = e[(e["day"] >= lo) & (e["day"] <= hi)]
        for f in rule.get("filters", []):
            e = e[e["props"].map(lambda p, f=f: p.get(f["property"]) == f["value"]).astype(bool)]
        counts = e.groupby("person").size().to_dict()
        least, most = (
            (0, 0) if "did_not" in rule else (rule.get("at_least", 1), rule.get("at_most"))
        )
        return {
            p
            for p in self.people
            if counts.get(p, 0) >= least and (most is None or counts.get(p, 0) <= most)
        }

    def lifecycle(self, rule: dict[str, Any]) -> set[str]:
        interval = rule.get("interval", "week")

        def period(d: date) -> tuple[int, int]:
            if interval == "day":
                return (d.toordinal(), 0)
            if interval == "week":
                return ((d - timedelta(days=d.weekday())).toordinal(), 0)
            return (d.year, d.month)

        def before(p: tuple[int, int]) -> tuple[int, int]:
            if interval == "day":
                return (p[0] - 1, 0)
            if interval == "week":
                return (p[0] - 7, 0)
            return (p[0] - 1, 12) if p[1] == 1 else (p[0], p[1] - 1)

        e = self.events(rule.get("event", "$any"))
        e = e[e["day"] <= self.as_of]
        now = period(self.as_of)
        prev = before(now)
        out = set()
        for person, days in e.groupby("person")["day"]:
            active = {period(d) for d in days}
            first = min(active)
            stage = {
                "new": first == now,
                "returning": now in active and prev in active,
                "resurrecting": now in active and prev not in active and first < prev,
                "dormant": prev in active and now not in active,
            }[rule["lifecycle"]]
            if stage:
                out.add(person)
        return out


def person_test(rule: dict[str, Any]) -> Callable[[Any], bool]:
    op, value = rule.get("op", "eq"), rule.get("value")

    def text(v: Any) -> str:
        return str(v)

    return {
        "eq": lambda v: v is not None and text(v) == text(value),
        "neq": lambda v: v is None or text(v) != text(value),
        "in": lambda v: v is not None and text(v) in [text(x) for x in value],
        "not_in": lambda v: v is None or text(v) not in [text(x) for x in value],
        "gt": lambda v: isinstance(v, int) and v > value,
        "lte": lambda v: isinstance(v, int) and v <= value,
        "is_set": lambda v: v is not None,
        "is_not_set": lambda v: v is None,
        "contains": lambda v: v is not None and text(value) in text(v),
    }[op]


# -- random logs and rules --------------------------------------------------------------------

PEOPLE = [f"u{i}" for i in range(10)]
CHANNELS = ["小红书", "抖音信息流", "应用商店"]
log_rows = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(["app_open", "pay", "view_item", "$set"]),
        st.one_of(st.integers(-2, 10), st.integers(0, 40)),  # days before AS_OF
        st.sampled_from([{"amount": 5, "category": "a"}, {"amount": 50, "category": "b"}, {}]),
    ),
    min_size=10,
    max_size=60,
)
people_props = st.fixed_dictionaries(
    {
        p: st.fixed_dictionaries(
            {},
            optional={"channel": st.sampled_from(CHANNELS), "age": st.sampled_from([18, 30, 45])},
        )
        for p in PEOPLE
    }
)
person_leaf = st.one_of(
    st.builds(
        lambda op, v: {"person": "channel", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "contains"]),
        st.sampled_from([*CHANNELS[:2], "书"]),
    ),
    st.builds(lambda v: {"person": "channel", "op": "in", "value": v}, st.just(CHANNELS[:2])),
    st.builds(lambda v: {"person": "channel", "op": "not_in", "value": v}, st.just(CHANNELS[1:])),
    st.builds(lambda op: {"person": "age", "op": op}, st.sampled_from(["is_set", "is_not_set"])),
    st.builds(
        lambda op, v: {"person": "age", "op": op, "value": v},
        st.sampled_from(["gt", "lte"]),
        st.sampled_from([18, 30]),
    ),
)


@st.composite
def did_leaf(draw: st.DrawFn) -> dict[str, Any]:
    negative = draw(st.booleans())
    event = draw(st.sampled_from(["pay", "app_open", "$any", "view_item"]))
    rule: dict[str, Any] = {"did_not": event} if negative else {"did": event}
    if not negative:
        rule["at_least"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            rule["at_most"] = rule["at_least"] + draw(st.integers(0, 2))
    window = draw(st.sampled_from(["days", "between", "ever"]))
    if window == "days":
        rule["in_last_days"] = draw(st.sampled_from([1, 3, 7, 30]))
    elif window == "between":
        lo = AS_OF - timedelta(days=draw(st.integers(0, 30)))
        rule["between"] = [
            lo.isoformat(),
            (lo + timedelta(days=draw(st.integers(0, 9)))).isoformat(),
        ]
    if event == "pay" and draw(st.booleans()):
        rule["filters"] = [{"property": "category", "op": "eq", "value": "b"}]
    return rule


other_leaf = st.one_of(
    st.builds(
        lambda stage, interval, event: {"lifecycle": stage, "interval": interval, "event": event},
        st.sampled_from(["new", "returning", "resurrecting", "dormant"]),
        st.sampled_from(["day", "week", "month"]),
        st.sampled_from(["$any", "pay"]),
    ),
    st.builds(lambda i: {"rfm_segment": SEGMENTS[i][i % 2]}, st.integers(0, 7)),
    st.builds(lambda i: {"cohort": i}, st.sampled_from([1, 2])),
)
rules = st.recursive(
    st.one_of(person_leaf, did_leaf(), other_leaf),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"and": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"or": rs}),
        inner.map(lambda r: {"not": r}),
    ),
    max_leaves=6,
)
COHORT_RULE = {"did": "pay", "in_last_days": 14}


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=log_rows,
    people=people_props,
    trees=st.lists(rules, min_size=3, max_size=3),
    static=st.sets(st.sampled_from(PEOPLE)),
)
def test_random_rules_equal_the_python_evaluator(
    chdb_pool: ChdbPool,
    raw: list[tuple[str, str, int, dict[str, Any]]],
    people: dict[str, dict[str, Any]],
    trees: list[dict[str, Any]],
    static: set[str],
) -> None:
    rows = [
        Row(
            p,
            ev,
            datetime.combine(AS_OF - timedelta(days=ago), datetime.min.time()).replace(
                hour=(i * 5) % 24
            ),
            props,
        )
        for i, (p, ev, ago, props) in enumerate(raw)
    ]
    loaded = load_people(rows, people, chdb_pool)
    ids = {p: person_id(loaded.duck, p) for p in loaded.frame["person"].unique()}
    static_ids = tuple(sorted(ids[p] for p in static if p in ids))
    ref = Reference(loaded.frame, people, AS_OF)
    ref.cohorts = {1: [p for p in static if p in ids], 2: COHORT_RULE}
    saved = {1: Cohort(person_ids=static_ids), 2: Cohort(rule=parse_rule(COHORT_RULE))}
    for tree in trees:
        q = SegmentQuery(rule=tree, as_of=AS_OF, limit=1000)
        duck = run_segment(loaded.duck, q, saved.get)
        expected = sorted(ids[p] for p in ref.eval(tree))
        assert [r["person_id"] for r in duck["results"]] == expected, tree
        assert duck["count"] == len(expected)
        assert run_segment(loaded.ch, q, saved.get) == duck, tree


BAD = [
    ([], "rule"),
    ({"did": "pay", "person": "x"}, "rule"),
    ({"and": []}, "rule.and"),
    ({"and": [{"did": "pay"}, {"did": 3}]}, "rule.and[1].did"),
    ({"or": [{"not": {"did": "pay", "at_least": -1}}]}, "rule.or[0].not.at_least"),
    ({"did": "pay", "at_least": 3, "at_most": 2}, "rule.at_most"),
    ({"did": "pay", "in_last_days": 0}, "rule.in_last_days"),
    ({"did": "pay", "between": ["2026-01-02", "2026-01-01"]}, "rule.between"),
    ({"did": "pay", "between": ["2026-13-01", "2026-12-01"]}, "rule.between"),
    ({"did": "pay", "filters": [{"property": "a", "op": "near"}]}, "rule.filters[0].op"),
    ({"did_not": "pay", "at_least": 1}, "rule.at_least"),
    ({"person": "channel", "op": "eq"}, "rule.value"),
    ({"person": "channel", "op": "like", "value": "x"}, "rule.op"),
    ({"rfm_segment": "VIP"}, "rule.rfm_segment"),
    ({"rfm_segment": "重要价值客户", "rfm": {"scoring": "thresholds"}}, "rule.rfm"),
    ({"rfm_segment": "重要价值客户", "rfm": {"limit": 3}}, "rule.rfm.limit"),
    ({"lifecycle": "sleeping"}, "rule.lifecycle"),
    ({"lifecycle": "new", "interval": "year"}, "rule.interval"),
    ({"cohort": "12"}, "rule.cohort"),
    ({"cohort": 2**31}, "rule.cohort"),
    ({"and": [{"did": "pay", "in_last": 3}]}, "rule.and[0].in_last"),
]


@pytest.mark.parametrize(("rule", "field"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_invalid_rules_name_the_path(rule: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_rule(rule)
    assert err.value.field == field
    assert err.value.message.startswith(field)


def test_nesting_and_cohort_limits(chdb_pool: ChdbPool) -> None:
    deep: dict[str, Any] = {"did": "pay"}
    for _ in range(8):
        deep = {"not": deep}
    with pytest.raises(InvalidInput, match="nest at most"):
        parse_rule(deep)
    loaded = load_log([Row("a", "pay", datetime(2026, 3, 1))], chdb_pool)
    q = SegmentQuery(rule={"or": [{"did": "pay"}, {"cohort": 5}]}, as_of=AS_OF)
    with pytest.raises(InvalidInput) as err:
        run_segment(loaded.duck, q)
    assert err.value.field == "rule.or[1].cohort"
    with pytest.raises(InvalidInput, match="no saved segment 5"):
        run_segment(loaded.duck, q, {}.get)
    loop = {
        5: Cohort(rule=parse_rule({"and": [{"did": "pay"}, {"cohort": 6}]})),
        6: Cohort(rule=parse_rule({"cohort": 5})),
    }
    with pytest.raises(InvalidInput, match="refers to itself"):
        run_segment(loaded.duck, q, loop.get)
