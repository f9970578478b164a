"""Each built-in metric restated over the pandas reference (metric_reference.py), and the check
that a `metrics` answer equals it line by line, bucket by bucket and in total."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from tests.analytics.metric_reference import (
    NONE,
    Ref,
    World,
    active,
    count,
    distinct,
    labels,
    new_users,
    numeric,
    product,
    ratio,
    referred,
    retention,
    spend,
    users,
)

ANY = ("$any",)
READS = ("read_article", "view_content")


def has(key: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: p.get(key) is not None


def builtin_refs(
    w: World, params: dict[str, Any] | None = None
) -> tuple[Callable[[str], Ref], frozenset[str]]:
    """The reference of each built-in key, computed on demand (each once), and the keys."""
    params = params or {}
    feature = params.get("feature")

    def defs() -> dict[str, Callable[[], Ref]]:
        return {
            "active_users": lambda: users(w, ANY),
            "dau": lambda: active(w, "day"),
            "wau": lambda: active(w, "week"),
            "mau": lambda: active(w, "month"),
            "wau_rolling": lambda: active(w, None, 7),
            "mau_rolling": lambda: active(w, None, 30),
            "new_users": lambda: new_users(w, ANY),
            "new_signups": lambda: new_users(w, ("sign_up",)),
            "stickiness": lambda: ratio(ref("dau"), ref("mau")),
            "stickiness_rolling": lambda: ratio(ref("dau"), ref("mau_rolling")),
            "next_day_retention": lambda: retention(w, 1),
            "day7_retention": lambda: retention(w, 7),
            "day30_retention": lambda: retention(w, 30),
            "feature_users": lambda: users(
                w,
                ("use_feature",),
                None if feature is None else (lambda p: p.get("feature") == feature),
            ),
            "feature_usage_rate": lambda: ratio(ref("feature_users"), ref("active_users")),
            "paying_users": lambda: users(w, ("pay",)),
            "paid_conversion": lambda: ratio(ref("paying_users"), ref("active_users")),
            "gmv": lambda: numeric(w, ("pay",), "amount", "sum"),
            "orders": lambda: count(w, ("pay",)),
            "aov": lambda: ratio(ref("gmv"), ref("orders")),
            "orders_per_payer": lambda: ratio(ref("orders"), ref("paying_users")),
            "gmv_decomposed": lambda: product(
                product(
                    product(ref("active_users"), ref("paid_conversion")), ref("orders_per_payer")
                ),
                ref("aov"),
            ),
            "arpu": lambda: ratio(ref("gmv"), ref("active_users")),
            "arppu": lambda: ratio(ref("gmv"), ref("paying_users")),
            "repeat_payers": lambda: users(w, ("pay",), min_days=2),
            "repurchase_rate": lambda: ratio(ref("repeat_payers"), ref("paying_users")),
            "order_amount_p50": lambda: numeric(w, ("pay",), "amount", "percentile", 0.5),
            "order_amount_p90": lambda: numeric(w, ("pay",), "amount", "percentile", 0.9),
            "items_sold": lambda: distinct(w, ("pay",), "item_id"),
            "reads": lambda: count(w, READS, has("content_id")),
            "readers": lambda: users(w, READS, has("content_id")),
            "likes": lambda: count(w, ("like",), has("content_id")),
            "like_rate": lambda: ratio(ref("likes"), ref("reads")),
            "content_shares": lambda: count(w, ("share",), has("content_id")),
            "share_rate": lambda: ratio(ref("content_shares"), ref("reads")),
            "comments": lambda: count(w, ("comment",), has("content_id")),
            "comment_rate": lambda: ratio(ref("comments"), ref("reads")),
            "campaign_participants": lambda: users(w, ("campaign_join",)),
            "campaign_sharers": lambda: users(w, ("share",), has("campaign_id")),
            "campaign_share_rate": lambda: ratio(
                ref("campaign_sharers"), ref("campaign_participants")
            ),
            "complaints": lambda: count(w, ("feedback",), lambda p: p.get("type") == "complaint"),
            "complaint_rate": lambda: ratio(ref("complaints"), ref("orders")),
            "invites": lambda: count(w, ("invite",)),
            "inviters": lambda: users(w, ("invite",)),
            "invited_signups": lambda: referred(w),
            "invites_per_inviter": lambda: ratio(ref("invites"), ref("inviters")),
            "invite_conversion": lambda: ratio(ref("invited_signups"), ref("invites")),
            "k_factor": lambda: product(ref("invites_per_inviter"), ref("invite_conversion")),
            "ad_spend": lambda: spend(w),
            "cac": lambda: ratio(ref("ad_spend"), ref("new_users")),
        }

    table = defs()

    @cache
    def ref(key: str) -> Ref:
        return table[key]()

    return ref, frozenset(table)


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def mismatches(answer: dict[str, Any], expected: Ref, w: World, key: str) -> list[str]:
    """Every difference between the answer's lines for `key` and the reference (empty: equal)."""
    lines = [r for r in answer["results"] if r["metric"] == key]
    out = []
    found = {NONE if r["breakdown_value"] is None else r["breakdown_value"] for r in lines}
    if w.breakdown is not None and found != expected.bvs:
        out.append(f"breakdown values {sorted(found)} != {sorted(expected.bvs)}")
    buckets = labels(w.lo, w.hi, w.grain)
    for line in lines:
        bv = NONE if line["breakdown_value"] is None else line["breakdown_value"]
        assert line["dates"] == buckets
        for b, got in zip(buckets, line["values"], strict=True):
            if not close(got, expected.value(bv, b)):
                out.append(f"{bv} {b}: {got} != {expected.value(bv, b)}")
        if not close(line["total"], expected.total(bv)):
            out.append(f"{bv} total: {line['total']} != {expected.total(bv)}")
    return out
