"""The demo world: deterministic, well-formed, and every planted truth recomputed independently
with pandas from the events read back out of the store."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from opsloop.demo import DemoSummary, build_demo_world
from opsloop.demo.world import HOT_PROPERTIES
from opsloop.errors import Conflict, InvalidInput
from opsloop.events import EventStore, open_event_store
from opsloop.events.materialized import column_for
from opsloop.events.schema import EVENT_COLUMNS

USERS, DAYS, SEED, WS = 2000, 30, 42, 3
TZ = "Asia/Shanghai"
EXACT = 1e-12

REQUIRED_EVENTS = {
    "app_open", "sign_up", "view_item", "add_to_cart", "checkout", "pay", "share", "invite",
    "sign_in", "read_article", "like", "comment", "use_feature", "feedback", "coupon_received",
    "coupon_used", "points_earned",
}  # fmt: skip
TRUTH_IDS = {
    "low_retention_channel",
    "repurchase_drop_region",
    "campaign_share_rate",
    "feature_usage_rate",
    "payment_conversion_collapse",
    "title_ab_test",
    "campaign_complaint_rate",
    "referral_k_factor",
}


@dataclass
class Built:
    store: EventStore
    summary: DemoSummary
    doc: dict[str, Any]
    events: pd.DataFrame  # one row per event, properties parsed, local day added

    def truth(self, truth_id: str) -> dict[str, Any]:
        (found,) = [t for t in self.doc["truths"] if t["id"] == truth_id]
        return found


def read_events(store: EventStore) -> pd.DataFrame:
    cur = store.cursor()
    try:
        df = cur.execute(
            "SELECT CAST(uuid AS VARCHAR) AS uuid, workspace_id, event, distinct_id, timestamp,"
            " received_at, CAST(properties AS VARCHAR) AS properties, session_id, lib, os, url,"
            " source FROM events"
        ).df()
    finally:
        cur.close()
    df["props"] = df["properties"].map(json.loads)
    df["day"] = df["timestamp"].dt.tz_convert(TZ).dt.date
    return df.sort_values(["timestamp", "uuid"], kind="stable").reset_index(drop=True)


def prop(df: pd.DataFrame, key: str) -> pd.Series:
    return df["props"].map(lambda p: p.get(key))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    data_dir = tmp_path_factory.mktemp("demo")
    store = open_event_store(data_dir / "events.duckdb")
    summary = build_demo_world(store, WS, data_dir, users=USERS, days=DAYS, seed=SEED)
    doc = json.loads(summary.truths_path.read_text(encoding="utf-8"))
    try:
        yield Built(store, summary, doc, read_events(store))
    finally:
        store.close()


def small_build(path: Path, seed: int, **kw: Any) -> tuple[pa.Table, bytes]:
    store = open_event_store(path / "events.duckdb")
    try:
        summary = build_demo_world(store, 1, path, users=300, days=28, seed=seed, **kw)
        cur = store.cursor()
        table = cur.sql(
            "SELECT CAST(uuid AS VARCHAR) AS uuid, event, distinct_id, timestamp, received_at,"
            " CAST(properties AS VARCHAR) AS properties, session_id, lib, os, source"
            " FROM events ORDER BY uuid"
        ).to_arrow_table()
        cur.close()
        return table, summary.truths_path.read_bytes()
    finally:
        store.close()


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_events_and_truths(tmp_path: Path) -> None:
    a, truths_a = small_build(tmp_path / "a", 7)
    b, truths_b = small_build(tmp_path / "b", 7)
    c, truths_c = small_build(tmp_path / "c", 8)
    assert a.num_rows > 5000
    assert a.equals(b)
    assert truths_a == truths_b
    assert not set(a["uuid"].to_pylist()) & set(c["uuid"].to_pylist())
    assert a["properties"].to_pylist() != c["properties"].to_pylist()
    assert truths_a != truths_c


def test_default_end_date_is_fixed_not_today(built: Built) -> None:
    assert built.summary.date_to == date(2026, 11, 15)
    assert built.summary.date_from == date(2026, 11, 15) - timedelta(days=DAYS - 1)


# -- shape of the data -------------------------------------------------------------------------


def test_summary_counts_and_schema(built: Built) -> None:
    df, s = built.events, built.summary
    assert (s.users, s.days, s.seed, s.workspace_id, s.timezone) == (USERS, DAYS, SEED, WS, TZ)
    assert s.events == len(df) == built.store.count_events(WS)
    assert s.truths_path.name == "truths.json"
    cur = built.store.cursor()
    columns = [r[0] for r in cur.execute("DESCRIBE events").fetchall()]
    cur.close()
    # The demo's hot properties are materialized: their columns follow, in the order added.
    hot = [column_for(key, kind) for key, kind in HOT_PROPERTIES]
    assert columns == EVENT_COLUMNS + hot
    assert built.store.materialized.ready(WS) == {
        (key, kind): column_for(key, kind) for key, kind in HOT_PROPERTIES
    }
    assert df["uuid"].is_unique
    assert all(uuid.UUID(u).version == 4 for u in df["uuid"].head(1000))
    assert (df["workspace_id"] == WS).all() and (df["source"] == "demo").all()
    assert df["distinct_id"].nunique() == USERS
    assert set(df["event"]) >= REQUIRED_EVENTS
    assert (df["received_at"] >= df["timestamp"]).all()
    world = built.doc["world"]
    assert (world["users"], world["days"], world["events"], world["seed"]) == (
        USERS, DAYS, len(df), SEED
    )  # fmt: skip


def test_timestamps_lie_inside_the_date_range(built: Built) -> None:
    days = built.events["day"]
    assert days.min() == built.summary.date_from
    assert days.max() == built.summary.date_to


def test_events_carry_platform_channel_region_lib_os_and_session(built: Built) -> None:
    df = built.events
    for key in ("platform", "channel", "region", "$lib", "$os", "$session_id"):
        assert prop(df, key).notna().all(), key
    assert (prop(df, "$session_id") == df["session_id"]).all()
    assert (prop(df, "$lib") == df["lib"]).all() and (prop(df, "$os") == df["os"]).all()
    assert set(prop(df, "platform")) == {"iOS", "Android", "小程序"}
    assert set(prop(df, "channel")) == {
        "应用商店", "抖音信息流", "小红书", "微信裂变", "百度搜索", "自然流量"
    }  # fmt: skip
    # A user's platform, channel and region are the same on every event.
    per_user = df.assign(p=prop(df, "platform"), c=prop(df, "channel"), r=prop(df, "region"))
    assert (per_user.groupby("distinct_id")[["p", "c", "r"]].nunique() == 1).all().all()


def test_every_user_starts_with_app_open_then_sign_up(built: Built) -> None:
    df = built.events
    firsts = df.groupby("distinct_id").head(2).groupby("distinct_id")["event"].agg(list)
    assert (firsts.map(tuple) == ("app_open", "sign_up")).all()
    assert (df[df["event"] == "sign_up"].groupby("distinct_id").size() == 1).all()


def test_sessions_open_with_app_open_and_stay_within_an_hour_of_one_day(built: Built) -> None:
    df = built.events
    sessions = df.groupby("session_id").agg(
        first=("event", "first"),
        users=("distinct_id", "nunique"),
        days=("day", "nunique"),
        opens=("event", lambda e: (e == "app_open").sum()),
        span=("timestamp", lambda t: (t.max() - t.min()).total_seconds()),
    )
    assert (sessions["first"] == "app_open").all() and (sessions["opens"] == 1).all()
    assert (sessions["users"] == 1).all() and (sessions["days"] == 1).all()
    assert sessions["span"].max() < 3600


def test_pay_events_have_amount_category_order_platform_region(built: Built) -> None:
    pays = built.events[built.events["event"] == "pay"]
    assert len(pays) > 100
    assert pays["properties"].str.contains(r'"amount":\d+\.\d{2}[,}]').all()
    amounts = prop(pays, "amount")
    assert (amounts > 0).all() and (amounts.round(2) == amounts).all()
    for key in ("category", "order_id", "platform", "region"):
        assert prop(pays, key).notna().all(), key
    assert prop(pays, "order_id").is_unique


def test_purchase_chain_is_ordered(built: Built) -> None:
    df = built.events
    chain = df[df["event"].isin(["checkout", "coupon_used", "pay"])]
    chain = chain.assign(order=prop(chain, "order_id"))
    firsts = chain.pivot_table(index="order", columns="event", values="timestamp", aggfunc="min")
    paid = firsts.dropna(subset=["pay"])
    assert (paid["checkout"] < paid["pay"]).all()
    used = paid.dropna(subset=["coupon_used"])
    assert len(used) > 0 and (used["coupon_used"] < used["pay"]).all()


def test_content_feedback_and_features_have_their_properties(built: Built) -> None:
    df = built.events
    reads = df[df["event"] == "read_article"]
    assert prop(reads, "content_id").notna().all() and prop(reads, "title").notna().all()
    feedback = df[df["event"] == "feedback"]
    assert set(prop(feedback, "type")) == {"complaint", "suggestion", "praise"}
    assert prop(feedback, "text").map(lambda t: re.search(r"[\u4e00-\u9fff]", t) is not None).all()
    assert prop(df[df["event"] == "use_feature"], "feature").notna().all()
    tested = reads[prop(reads, "content_id") == "c9001"]
    assert set(prop(tested, "variant")) == {"A", "B"}


def test_persons_have_their_properties(built: Built) -> None:
    cur = built.store.cursor()
    persons = cur.execute(
        "SELECT m.distinct_id, CAST(p.properties AS VARCHAR) FROM persons p"
        " JOIN person_distinct_ids m ON m.person_id = p.id AND m.workspace_id = p.workspace_id"
        " WHERE p.workspace_id = ?",
        [WS],
    ).fetchall()
    cur.close()
    assert len(persons) == USERS
    props = {did: json.loads(text) for did, text in persons}
    signups = built.events[built.events["event"] == "sign_up"].set_index("distinct_id")
    for did, p in props.items():
        for key in ("name", "channel", "region", "city", "platform", "signup_date"):
            assert p.get(key), (did, key)
        row = signups.loc[did]
        assert p["channel"] == row["props"]["channel"]
        assert p["region"] == row["props"]["region"]
        assert p["signup_date"] == row["day"].isoformat()
        assert ("referrer" in p) == ("invite_code" in row["props"])


# -- the truths --------------------------------------------------------------------------------


def test_truths_file_is_complete(built: Built) -> None:
    truths = built.doc["truths"]
    assert {t["id"] for t in truths} == TRUTH_IDS
    for t in truths:
        assert {"id", "what", "what_zh", "where", "metric", "expected", "tolerance"} <= set(t)
        assert t["expected"] and t["where"] and t["what"] and t["what_zh"]
        assert set(t["planted"]) <= set(t["expected"])
        assert set(t["planted_tolerance"]) == set(t["planted"])
        for key, target in t["planted"].items():
            assert abs(t["expected"][key] - target) <= t["planted_tolerance"][key], (t["id"], key)
    world = built.doc["world"]
    assert world["content"] and world["campaign"]["id"] and world["experiment"]["variants"]


def check(truth: dict[str, Any], recomputed: dict[str, float]) -> None:
    assert set(recomputed) == set(truth["expected"])
    for key, value in recomputed.items():
        assert value == pytest.approx(truth["expected"][key], abs=EXACT), key


def signups(df: pd.DataFrame) -> pd.DataFrame:
    su = df[df["event"] == "sign_up"]
    return pd.DataFrame(
        {
            "distinct_id": su["distinct_id"],
            "channel": prop(su, "channel"),
            "region": prop(su, "region"),
            "signup": su["day"],
        }
    )


def test_truth_low_retention_channel(built: Built) -> None:
    truth, df = built.truth("low_retention_channel"), built.events
    active = set(zip(df["distinct_id"], df["day"], strict=True))
    first = df.groupby("distinct_id")["day"].min().rename("d0").reset_index()
    cohort = first.merge(signups(df), on="distinct_id")
    cohort = cohort[cohort["d0"] < built.summary.date_to]
    cohort["back"] = [
        (d, d0 + timedelta(days=1)) in active
        for d, d0 in zip(cohort["distinct_id"], cohort["d0"], strict=True)
    ]
    rates = cohort.groupby("channel")["back"].mean()
    low = truth["where"]["channel"]
    others = rates.drop(low)
    check(truth, {"rate": rates[low], "others_average": others.mean()})
    assert rates[low] < others.mean() - 0.1


def test_truth_repurchase_drop(built: Built) -> None:
    truth, df = built.truth("repurchase_drop_region"), built.events
    w = truth["where"]
    old = signups(df)
    old = old[
        (old["region"] == w["region"]) & (old["signup"] < date.fromisoformat(w["signup_before"]))
    ]
    pays = df[(df["event"] == "pay") & df["distinct_id"].isin(old["distinct_id"])]
    result = {}
    for name in ("before", "after"):
        lo, hi = (date.fromisoformat(w[name][k]) for k in ("date_from", "date_to"))
        inside = pays[(pays["day"] >= lo) & (pays["day"] <= hi)]
        pay_days = inside.groupby("distinct_id")["day"].nunique()
        result[name] = float((pay_days >= 2).mean())
    check(truth, result)
    assert result["after"] < result["before"]


def test_truth_campaign_share_rate(built: Built) -> None:
    truth, df = built.truth("campaign_share_rate"), built.events
    cid = truth["where"]["campaign_id"]
    in_campaign = prop(df, "campaign_id") == cid
    joined = set(df.loc[in_campaign & (df["event"] == "campaign_join"), "distinct_id"])
    shared = set(df.loc[in_campaign & (df["event"] == "share"), "distinct_id"])
    rate = len(joined & shared) / len(joined)
    check(truth, {"share_rate": rate})
    assert rate < truth["where"]["planned_share_rate"] / 1.5


def test_truth_feature_usage_rate(built: Built) -> None:
    truth, df = built.truth("feature_usage_rate"), built.events
    feature = truth["where"]["feature"]
    users = df.loc[(df["event"] == "use_feature") & (prop(df, "feature") == feature), "distinct_id"]
    check(truth, {"rate": users.nunique() / df["distinct_id"].nunique()})


def test_truth_payment_conversion_collapse(built: Built) -> None:
    truth, df = built.truth("payment_conversion_collapse"), built.events
    platform = truth["where"]["platform"]
    chain = df[df["event"].isin(["checkout", "pay"]) & (prop(df, "platform") == platform)]
    firsts = chain.pivot_table(
        index=["distinct_id", "day"], columns="event", values="timestamp", aggfunc="min"
    )
    lasts = chain.pivot_table(
        index=["distinct_id", "day"], columns="event", values="timestamp", aggfunc="max"
    )
    per_day = pd.DataFrame({"checkout": firsts["checkout"], "pay": lasts["pay"]}).dropna(
        subset=["checkout"]
    )
    per_day["converted"] = per_day["pay"].notna() & (per_day["pay"] > per_day["checkout"])
    on_day = per_day.index.get_level_values("day") == date.fromisoformat(truth["where"]["date"])
    rate = per_day.loc[on_day, "converted"].mean()
    usual = per_day.loc[~on_day, "converted"].mean()
    check(truth, {"rate": rate, "usual": usual})
    assert rate < usual / 2


def test_truth_title_ab_test(built: Built) -> None:
    truth, df = built.truth("title_ab_test"), built.events
    w = truth["where"]
    exposed = df[
        (df["event"] == "experiment_exposure") & (prop(df, "experiment_id") == w["experiment_id"])
    ]
    arms = exposed.assign(variant=prop(exposed, "variant")).drop_duplicates("distinct_id")
    readers = set(
        df.loc[
            (df["event"] == "read_article") & (prop(df, "content_id") == w["content_id"]),
            "distinct_id",
        ]
    )
    rates = arms.groupby("variant")["distinct_id"].agg(lambda ids: ids.isin(readers).mean())
    check(truth, {"rate_a": rates["A"], "rate_b": rates["B"], "lift": rates["B"] / rates["A"] - 1})
    assert truth["details"]["winner"] == "B"


def test_truth_campaign_complaint_rate(built: Built) -> None:
    truth, df = built.truth("campaign_complaint_rate"), built.events
    ours = df[prop(df, "campaign_id") == truth["where"]["campaign_id"]]
    complaints = ((ours["event"] == "feedback") & (prop(ours, "type") == "complaint")).sum()
    orders = (ours["event"] == "pay").sum()
    check(truth, {"rate": complaints / orders})


def test_truth_referral_k_factor(built: Built) -> None:
    truth, df = built.truth("referral_k_factor"), built.events
    cid = truth["where"]["campaign_id"]
    invites = df[(df["event"] == "invite") & (prop(df, "campaign_id") == cid)]
    codes = set(prop(invites, "invite_code"))
    su = df[df["event"] == "sign_up"]
    joined = su[prop(su, "invite_code").isin(codes) & (prop(su, "campaign_id") == cid)]
    per_inviter = len(invites) / invites["distinct_id"].nunique()
    conversion = joined["distinct_id"].nunique() / len(invites)
    check(
        truth,
        {
            "k_factor": per_inviter * conversion,
            "invites_per_inviter": per_inviter,
            "invite_conversion": conversion,
        },
    )
    # Invited friends sign up after the invite that brought them.
    invited_at = dict(zip(prop(invites, "invite_code"), invites["timestamp"], strict=True))
    assert all(
        invited_at[code] < ts
        for code, ts in zip(prop(joined, "invite_code"), joined["timestamp"], strict=True)
    )


# -- the door: progress, arguments, time zones -------------------------------------------------


def test_progress_is_reported_up_to_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        build_demo_world(
            store, 1, tmp_path, users=200, days=28, progress=lambda d, t: calls.append((d, t))
        )
    finally:
        store.close()
    totals = {t for _, t in calls}
    assert len(totals) == 1
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == totals.pop() and len(done) >= 3


def test_a_second_build_into_the_same_workspace_is_refused(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        build_demo_world(store, 1, tmp_path, users=200, days=28)
        with pytest.raises(Conflict):
            build_demo_world(store, 1, tmp_path, users=200, days=28)
        other = build_demo_world(store, 2, tmp_path / "two", users=200, days=28)
        assert other.events == store.count_events(2)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"days": 10}, "days"), ({"users": 5}, "users"), ({"timezone": "Mars/Base"}, "timezone")],
)
def test_bad_arguments_are_refused(tmp_path: Path, kw: dict[str, Any], field: str) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        with pytest.raises(InvalidInput) as err:
            build_demo_world(store, 1, tmp_path, **{"users": 200, "days": 28, **kw})
        assert err.value.field == field
        assert store.count_events() == 0
    finally:
        store.close()


def test_days_follow_the_workspace_time_zone(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        s = build_demo_world(
            store, 1, tmp_path, users=200, days=28, end_date=date(2026, 3, 31),
            timezone="America/New_York",
        )  # fmt: skip
        df = read_events(store)
    finally:
        store.close()
    local = df["timestamp"].dt.tz_convert("America/New_York")
    assert local.dt.date.min() == s.date_from == date(2026, 3, 4)
    assert local.dt.date.max() == s.date_to == date(2026, 3, 31)
    # Nobody is up between midnight and six in the morning, daylight saving or not.
    assert local.dt.hour.min() >= 6
