"""The demo world's planted truths, found by catalog metrics on both engines: each metric, asked
the way the truth describes it, lands on the value truths.json measured."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import pytest

from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from opsloop.analytics.segments.compiler import Cohort
from opsloop.analytics.segments.rules import parse_rule
from tests.analytics.conftest import World

OLD_USERS = 1  # the saved segment of the repurchase story


def truth(world: World, truth_id: str) -> dict[str, Any]:
    truths: list[dict[str, Any]] = world.truths["truths"]  # type: ignore[index]
    return next(t for t in truths if t["id"] == truth_id)


class Segments:
    """Saved segments as the operational store would resolve them."""

    def __init__(self, rules: dict[int, dict[str, Any]]) -> None:
        self.rules = rules

    def __call__(self, segment_id: int) -> Cohort | None:
        rule = self.rules.get(segment_id)
        return None if rule is None else Cohort(rule=parse_rule(rule), version="1")

    def versions(self, segment_ids: Collection[int]) -> dict[int, str]:
        return {i: "1" for i in segment_ids if i in self.rules}


def totals(ctx: QueryContext, **query: Any) -> dict[tuple[str, Any], Any]:
    answer = run_metrics(ctx, MetricsQuery.model_validate(query))
    return {(r["metric"], r["breakdown_value"]): r["total"] for r in answer["results"]}


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_low_next_day_retention_of_one_channel(world: World, engine: str) -> None:
    t = truth(world, "low_retention_channel")
    ctx = world.duck if engine == "duckdb" else world.ch
    where = t["where"]
    rates = totals(
        ctx,
        metrics=["next_day_retention"],
        date_from=where["cohort_date_from"],
        date_to=world.truths["world"]["date_to"],  # type: ignore[index]
        breakdown="$first_touch_channel",
    )
    by_channel = {bv: v for (_, bv), v in rates.items()}
    assert by_channel[where["channel"]] == pytest.approx(t["expected"]["rate"], abs=1e-12)
    others = [by_channel[c] for c in where["others"]]
    assert sum(others) / len(others) == pytest.approx(t["expected"]["others_average"], abs=1e-12)
    for channel, detail in t["details"]["by_channel"].items():
        assert by_channel[channel] == pytest.approx(detail["rate"], abs=1e-12)


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_repurchase_drop_of_old_users_in_one_region(world: World, engine: str) -> None:
    t = truth(world, "repurchase_drop_region")
    where = t["where"]
    last_signup = date.fromisoformat(where["signup_before"]) - timedelta(days=1)
    old = {"did": "sign_up", "between": ["2026-01-01", last_signup.isoformat()]}
    ctx = world.duck if engine == "duckdb" else world.ch
    ctx = dataclasses.replace(ctx, cohorts=Segments({OLD_USERS: old}))
    for window in ("before", "after"):
        got = totals(
            ctx,
            metrics=["repurchase_rate", "paying_users", "repeat_payers"],
            date_from=where[window]["date_from"],
            date_to=where[window]["date_to"],
            interval="week",
            filters=[{"property": "region", "op": "eq", "value": where["region"]}],
            segment=OLD_USERS,
        )
        assert got[("repurchase_rate", None)] == pytest.approx(t["expected"][window], abs=1e-12)
        assert got[("paying_users", None)] == t["details"]["payers"][window]
        assert got[("repeat_payers", None)] == t["details"]["repeat_payers"][window]
    assert t["expected"]["after"] < t["expected"]["before"]


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_campaign_share_complaint_and_referral(world: World, engine: str) -> None:
    ctx = world.duck if engine == "duckdb" else world.ch
    share, complaints, k = (
        truth(world, "campaign_share_rate"),
        truth(world, "campaign_complaint_rate"),
        truth(world, "referral_k_factor"),
    )
    campaign = [{"property": "campaign_id", "op": "eq", "value": share["where"]["campaign_id"]}]
    got = totals(
        ctx,
        metrics=["campaign_share_rate", "complaint_rate", "complaints", "orders"],
        date_from=share["where"]["date_from"],
        date_to=share["where"]["date_to"],
        filters=campaign,
    )
    assert got[("campaign_share_rate", None)] == pytest.approx(share["expected"]["share_rate"])
    assert got[("complaint_rate", None)] == pytest.approx(complaints["expected"]["rate"])
    assert got[("complaints", None)] == complaints["details"]["complaints"]
    assert got[("orders", None)] == complaints["details"]["orders"]
    got = totals(
        ctx,
        metrics=["k_factor", "invites_per_inviter", "invite_conversion", "invites", "inviters"],
        date_from=k["where"]["date_from"],
        date_to=k["where"]["date_to"],
        filters=campaign,
    )
    for name in ("k_factor", "invites_per_inviter", "invite_conversion"):
        assert got[(name, None)] == pytest.approx(k["expected"][name], abs=1e-12)
    assert got[("invites", None)] == k["details"]["invites"]
    assert got[("inviters", None)] == k["details"]["inviters"]


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_feature_usage_rate_of_the_planted_feature(world: World, engine: str) -> None:
    t = truth(world, "feature_usage_rate")
    ctx = world.duck if engine == "duckdb" else world.ch
    got = totals(
        ctx,
        metrics=[
            {"metric": "feature_usage_rate", "params": {"feature": t["where"]["feature"]}},
            {"metric": "feature_users", "params": {"feature": t["where"]["feature"]}},
            "active_users",
        ],
        date_from=t["where"]["date_from"],
        date_to=t["where"]["date_to"],
        interval="month",
    )
    assert got[("feature_usage_rate", None)] == pytest.approx(t["expected"]["rate"], abs=1e-12)
    assert got[("feature_users", None)] == t["details"]["users"]
    assert got[("active_users", None)] == t["details"]["active_users"]
    assert abs(t["expected"]["rate"] - t["planted"]["rate"]) <= t["planted_tolerance"]["rate"]
