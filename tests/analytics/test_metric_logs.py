"""Catalog metrics on random small logs (hypothesis) against the pandas reference on both
engines: empty buckets, zero denominators, missing and non-numeric amounts, ties, profile-only
events, breakdowns by an event property or the first-touch channel, and filters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from tests.analytics.logs import ChdbPool, Row, load_log
from tests.analytics.metric_builtins import builtin_refs, mismatches
from tests.analytics.metric_reference import World

BASE = date(2026, 3, 2)  # a Monday
SPAN = {"day": 9, "week": 30, "month": 70}
# Metrics of every kind; the calendar ones only where the grain allows them.
METRICS = [
    "active_users",
    "dau",
    "wau_rolling",
    "new_users",
    "new_signups",
    "next_day_retention",
    "paying_users",
    "paid_conversion",
    "gmv",
    "aov",
    "arppu",
    "repeat_payers",
    "repurchase_rate",
    "order_amount_p50",
    "order_amount_p90",
    "items_sold",
    "complaint_rate",
    "invited_signups",
    "k_factor",
    "gmv_decomposed",
]
BY_GRAIN = {"day": [], "week": ["wau"], "month": ["wau", "mau", "stickiness"]}
TIMES = st.one_of(
    st.sampled_from([time(0, 0), time(23, 59, 59), time(12, 0)]),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])),
)
AMOUNTS = st.one_of(st.none(), st.integers(0, 50), st.sampled_from([0.5, 19.99, "12"]))


def _props(event: str, draw: st.DrawFn) -> dict[str, Any]:
    props: dict[str, Any] = {}
    channel = draw(st.sampled_from([None, "ads", "seo", "ads"]))
    if channel is not None:
        props["channel"] = channel
    if event == "pay":
        amount = draw(AMOUNTS)
        if amount is not None:
            props["amount"] = amount
        props["item_id"] = draw(st.sampled_from(["s1", "s2", "s3"]))
    if event in ("invite", "sign_up") and draw(st.booleans()):
        props["invite_code"] = draw(st.sampled_from(["I1", "I2", "I3"]))
    if event == "feedback":
        props["type"] = draw(st.sampled_from(["complaint", "praise"]))
    return props


@st.composite
def logs_and_queries(draw: st.DrawFn) -> tuple[list[Row], list[dict[str, Any]]]:
    grain = draw(st.sampled_from(["day", "week", "month"]))
    span = SPAN[grain]
    rows = []
    for _ in range(draw(st.integers(1, 35))):
        event = draw(st.sampled_from(["app_open", "pay", "sign_up", "invite", "feedback", "$set"]))
        day = BASE + timedelta(days=draw(st.integers(0, span)))
        rows.append(
            Row(
                draw(st.sampled_from("abcdef")),
                event,
                datetime.combine(day, draw(TIMES)),
                _props(event, draw),
            )
        )
    queries = []
    for _ in range(2):
        first = draw(st.integers(0, span))
        last = draw(st.integers(first, span))
        q: dict[str, Any] = {
            "metrics": draw(
                st.lists(st.sampled_from(METRICS + BY_GRAIN[grain]), min_size=1, max_size=4)
            ),
            "date_from": BASE + timedelta(days=first),
            "date_to": BASE + timedelta(days=last),
            "interval": grain,
            "breakdown": draw(st.sampled_from([None, "channel", "$first_touch_channel"])),
        }
        if draw(st.booleans()):
            q["filters"] = [{"property": "channel", "op": "neq", "value": "seo"}]
        queries.append(q)
    return rows, queries


def reference_world(frame: Any, q: MetricsQuery, filtered: bool) -> World:
    events = frame.rename(columns={"person": "person_id"})
    tests = [lambda p: p.get("channel") != "seo"] if filtered else []
    return World(events, q.date_from, q.date_to, q.interval, q.breakdown, filters=tests)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=logs_and_queries())
def test_random_logs_equal_the_reference_on_both_engines(
    chdb_pool: ChdbPool, case: tuple[list[Row], list[dict[str, Any]]]
) -> None:
    rows, queries = case
    loaded = load_log(rows, chdb_pool)
    for raw in queries:
        q = MetricsQuery.model_validate(raw)
        w = reference_world(loaded.frame, q, "filters" in raw)
        ref, _ = builtin_refs(w)
        for ctx in (loaded.duck, loaded.ch):
            answer = run_metrics(ctx, q)
            for key in dict.fromkeys(raw["metrics"]):
                assert mismatches(answer, ref(key), w, key) == [], (key, raw)
