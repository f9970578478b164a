"""Straightforward pandas versions of the query benchmark's cases: the events loaded once into a
frame (persons resolved, properties as JSON text, as an analyst would pull them), then each
question answered the obvious pandas way. Each gives the case's comparable shape, checked
against the hand-written query's before it is timed.

The frame also holds the hot properties the cases read (`channel`, `region`, `amount`) as typed
columns, from the events table's materialized columns. The baseline the targets are measured
against reads the JSON, as an event export has it; the cases that read a property are timed a
second time reading the typed columns instead ("pandas_columns"), the strictest baseline: an
analyst whose export already has typed columns, the frame in memory."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pandas as pd
from query_cases import D0, D1, FUNNEL, SEGMENT_RULE, TIMELINE_USER, TZ, WINDOW_S, WORKSPACE, Case
from query_cases_persons import PAGE
from query_cases_sequences import PATH_DEPTH, PATHS_FROM, SESSION_MINUTES

from opsloop.events.schema import PERSON_ONLY_EVENTS

Frames = dict[str, pd.DataFrame]
assert SEGMENT_RULE["and"][0]["in_last_days"] == 30  # the pandas segment below spells it out


def load_frames(path: Path) -> Frames:
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"SET TimeZone = '{TZ}'")
    try:
        events = con.execute(
            "SELECT CAST(m.person_id AS VARCHAR) AS person_id, e.event, e.distinct_id,"
            " e.timestamp, e.received_at, CAST(e.uuid AS VARCHAR) AS uuid,"
            " CAST(e.properties AS VARCHAR) AS properties,"
            + ", ".join(f"e.{column} AS {TYPED_PREFIX}{key}" for key, column in TYPED.items())
            + " FROM events e"
            " JOIN person_distinct_ids m ON m.workspace_id = e.workspace_id"
            f" AND m.distinct_id = e.distinct_id WHERE e.workspace_id = {WORKSPACE}"
        ).df()
        persons = con.execute(
            "SELECT CAST(id AS VARCHAR) AS person_id, CAST(properties AS VARCHAR) AS properties"
            f" FROM persons WHERE workspace_id = {WORKSPACE}"
        ).df()
        ids = con.execute(
            "SELECT distinct_id, CAST(person_id AS VARCHAR) AS person_id"
            f" FROM person_distinct_ids WHERE workspace_id = {WORKSPACE}"
        ).df()
    finally:
        con.close()
    events["local"] = events["timestamp"].dt.tz_convert(TZ)
    events["day"] = events["local"].dt.tz_localize(None).dt.normalize()
    return {"events": events, "persons": persons, "ids": ids}


# The hot properties the cases read, as typed columns of the frame (materialized columns).
TYPED = {"channel": "mp_channel", "region": "mp_region", "amount": "mp_amount__num"}
TYPED_PREFIX = "col_"
# Cases timed again reading the typed columns.
TYPED_CASES = (
    "trends_dau_by_channel",
    "trends_gmv_by_day",
    "trends_json_filter",
    "metrics_conversion_gmv",
    "rfm_quintiles",
)


class PropertyReading:
    """Where `_prop` reads an event property: the JSON (the baseline) or the typed column."""

    columns = False


def _prop(frame: pd.DataFrame, key: str) -> pd.Series:
    typed = TYPED_PREFIX + key
    if PropertyReading.columns and typed in frame.columns:
        return frame[typed]
    return frame["properties"].map(lambda p: orjson.loads(p).get(key))


def _in_days(f: pd.DataFrame, lo: Any, hi: Any) -> pd.DataFrame:
    return f[(f["day"] >= pd.Timestamp(lo)) & (f["day"] <= pd.Timestamp(hi))]


def _active(f: pd.DataFrame) -> pd.DataFrame:
    return f[~f["event"].isin(PERSON_ONLY_EVENTS)]


def _label(day: pd.Timestamp) -> str:
    return day.strftime("%Y-%m-%d")


# -- trends, retention, lifecycle ----------------------------------------------------------------


def dau_by_channel(fr: Frames) -> Any:
    f = _in_days(_active(fr["events"]), D0, D1)
    f = f.assign(channel=_prop(f, "channel"))
    s = f.groupby(["channel", "day"], dropna=False)["person_id"].nunique()
    return {(None if pd.isna(ch) else ch, _label(d)): float(v) for (ch, d), v in s.items() if v}


def gmv_by_day(fr: Frames) -> Any:
    f = _in_days(fr["events"], D0, D1)
    f = f[f["event"] == "pay"]
    s = f.assign(amount=_prop(f, "amount").astype(float)).groupby("day")["amount"].sum()
    return {(None, _label(d)): float(v) for d, v in s.items() if v}


def json_filter(fr: Frames) -> Any:
    f = _in_days(_active(fr["events"]), D0, D1)
    s = f[_prop(f, "region") == "华东"].groupby("day").size()
    return {(None, _label(d)): float(v) for d, v in s.items() if v}


def conversion_gmv(fr: Frames) -> Any:
    f = _in_days(_active(fr["events"]), D0, D1)
    pays = f[f["event"] == "pay"]
    pays = pays.assign(amount=pd.to_numeric(_prop(pays, "amount"), errors="coerce"))
    active = f.groupby("day")["person_id"].nunique()
    paying = pays.groupby("day")["person_id"].nunique()
    gmv = pays.groupby("day")["amount"].sum()
    out: dict[tuple[str, str], float] = {}
    days = [(_label(d), active[d], paying.get(d, 0), gmv.get(d, 0.0)) for d in active.index]
    days.append(("total", f["person_id"].nunique(), pays["person_id"].nunique(), gmv.sum()))
    for day, n_active, n_paying, amount in days:
        if n_active and n_paying:
            out[("paid_conversion", day)] = int(n_paying) / int(n_active)
        if amount:
            out[("gmv", day)] = float(amount)
    return out


def retention(fr: Frames) -> Any:
    f = _active(fr["events"])
    f = f[f["day"] <= pd.Timestamp(D1 + timedelta(7))]
    first = f[f["event"] == "sign_up"].groupby("person_id")["day"].min().rename("c")
    act = f[["person_id", "day"]].drop_duplicates().merge(first, on="person_id")
    act["k"] = (act["day"] - act["c"]).dt.days
    act = act[(act["k"] >= 0) & (act["k"] <= 7)]
    act = act[(act["c"] >= pd.Timestamp(D0)) & (act["c"] <= pd.Timestamp(D1))]
    s = act.groupby(["c", "k"]).size()
    return {(_label(c), int(k)): int(v) for (c, k), v in s.items() if v}


def lifecycle(fr: Frames) -> Any:
    f = _active(fr["events"])
    act = f.loc[f["day"] <= pd.Timestamp(D1), ["person_id", "day"]].drop_duplicates()
    act = act.sort_values(["person_id", "day"])
    by = act.groupby("person_id")["day"]
    act["prev"], act["nxt"] = by.shift(1), by.shift(-1)
    one = pd.Timedelta(days=1)
    out: dict[tuple[str, str], int] = {}
    counts = {
        "new": act[act["prev"].isna()].groupby("day").size(),
        "returning": act[act["prev"] == act["day"] - one].groupby("day").size(),
        "resurrecting": act[act["prev"] < act["day"] - one].groupby("day").size(),
        "dormant": -(
            act[act["nxt"].isna() | (act["nxt"] > act["day"] + one)].groupby("day").size()
        ).rename(lambda d: d + one),
    }
    for status, s in counts.items():
        for d, v in s.items():
            if v and pd.Timestamp(D0) <= d <= pd.Timestamp(D1):
                out[(_label(d), status)] = int(v)
    return out


# -- funnel and paths ----------------------------------------------------------------------------


def funnel(fr: Frames) -> Any:
    e = fr["events"]
    hi = pd.Timestamp(D1 + timedelta(1), tz=TZ)
    f = e[e["event"].isin(FUNNEL) & (e["timestamp"] >= pd.Timestamp(D0, tz=TZ))]
    f = f[f["timestamp"] < hi + pd.Timedelta(seconds=WINDOW_S)]
    f = f.assign(t=f["timestamp"].dt.as_unit("us").astype("int64")).sort_values("t")
    step = f[(f["event"] == FUNNEL[0]) & (f["timestamp"] < hi)][["person_id", "t"]]
    step = step.assign(g=step["t"])
    out = [(int(step["person_id"].nunique()), None)]
    for name in FUNNEL[1:]:
        prev = step.assign(tp=step["t"])[["person_id", "t", "g", "tp"]]
        r = f[f["event"] == name][["person_id", "t"]]
        m = pd.merge_asof(r, prev, on="t", by="person_id", allow_exact_matches=False)
        m = m[m["g"].notna() & (m["t"] - m["g"] <= WINDOW_S * 1_000_000)]
        m = m.assign(dt=m["t"] - m["tp"])
        first = m.sort_values("t").groupby("person_id")["dt"].first()
        out.append((int(m["person_id"].nunique()), float(first.median()) / 1e6))
        step = m[["person_id", "t", "g"]]
    return out


def paths(fr: Frames) -> Any:
    f = _in_days(_active(fr["events"]), PATHS_FROM, D1)
    f = f.assign(t=f["timestamp"].dt.as_unit("us").astype("int64"))
    f = f.sort_values(["person_id", "t", "received_at", "uuid"])[["person_id", "event", "t"]]
    prev_t = f.groupby("person_id")["t"].shift()
    f["sess"] = (prev_t.isna() | (f["t"] - prev_t >= SESSION_MINUTES * 60_000_000)).cumsum()
    f["rn"] = f.groupby("sess").cumcount()
    anchor = f[f["event"] == "app_open"].groupby("sess")["rn"].min()
    f["a"] = f["sess"].map(anchor)
    f = f[(f["rn"] >= f["a"]) & (f["rn"] < f["a"] + PATH_DEPTH)].copy()
    f["step"] = (f["rn"] - f["a"] + 1).astype(int)
    f["nxt"] = f.groupby("sess")["event"].shift(-1)
    links = f[f["nxt"].notna()].groupby(["step", "event", "nxt"])["person_id"].nunique()
    nodes = f.groupby(["step", "event"])["person_id"].nunique()
    link_map = {(f"{s}_{e}", f"{s + 1}_{t}"): int(v) for (s, e, t), v in links.items()}
    ends = {name for link in link_map for name in link}
    node_map = {f"{s}_{e}": int(v) for (s, e), v in nodes.items() if f"{s}_{e}" in ends}
    return link_map, node_map


# -- RFM, segment, timeline ----------------------------------------------------------------------


def _smallest_ids(fr: Frames, pids: list[str]) -> dict[str, list[str]]:
    ids = fr["ids"][fr["ids"]["person_id"].isin(pids)]
    return {p: sorted(g) for p, g in ids.groupby("person_id")["distinct_id"]}


def rfm(fr: Frames) -> Any:
    f = _in_days(fr["events"], D0, D1)
    f = f[f["event"] == "pay"]
    cents = (_prop(f, "amount").astype(float) * 100).round().astype("int64")
    v = (
        f.assign(cents=cents)
        .groupby("person_id")
        .agg(last=("day", "max"), f=("day", "size"), mon=("cents", "sum"))
    )
    v["rec"] = (pd.Timestamp(D1) - v["last"]).dt.days
    n = len(v)
    for col, score, asc in (("rec", "rs", False), ("f", "fs", True), ("mon", "ms", True)):
        rank = v[col].rank(method="min", ascending=asc)
        v[score] = (1 + np.floor(5 * (rank - 1) / n)).astype(int)
    low = {s: (v[s] <= v[s].mean()).astype(int) for s in ("rs", "fs", "ms")}
    v["seg"] = 4 * low["ms"] + 2 * low["rs"] + low["fs"]
    summary = {int(s): int(c) for s, c in v["seg"].value_counts().items()}
    v = v.reset_index()
    top = v.sort_values(["mon", "f", "rec", "person_id"], ascending=[False, False, True, True])
    top = top.head(PAGE)
    ids = _smallest_ids(fr, list(top["person_id"]))
    page = [
        (r.person_id, ids[r.person_id][0], int(r.rec), int(r.f), round(r.mon / 100, 2), *scores)
        for r in top.itertuples()
        for scores in [(int(r.rs), int(r.fs), int(r.ms), int(r.seg))]
    ]
    return summary, page


def segment(fr: Frames) -> Any:
    e = fr["events"]
    pays = _in_days(e[e["event"] == "pay"], D1 - timedelta(29), D1)
    payers = pays.groupby("person_id").size()
    payers = set(payers[payers >= 2].index)
    openers = set(_in_days(e[e["event"] == "app_open"], D1 - timedelta(6), D1)["person_id"])
    p = fr["persons"]
    p = p[p["person_id"].isin(payers) & ~p["person_id"].isin(openers)]
    p = p[_prop(p, "channel") == "小红书"].sort_values("person_id")
    page = p.head(PAGE)
    ids = _smallest_ids(fr, list(page["person_id"]))
    rows = [
        (r.person_id, tuple(ids[r.person_id]), sorted(orjson.loads(r.properties).items()))
        for r in page.itertuples()
    ]
    return len(p), rows


def timeline(fr: Frames) -> Any:
    ids = fr["ids"]
    person = ids.loc[ids["distinct_id"] == TIMELINE_USER, "person_id"].iloc[0]
    dids = set(ids.loc[ids["person_id"] == person, "distinct_id"])
    e = fr["events"]
    mine = e[e["distinct_id"].isin(dids)].sort_values(["timestamp", "uuid"], ascending=False)
    return [
        (r.uuid, r.event, r.timestamp.tz_convert("UTC").to_pydatetime().isoformat())
        for r in mine.head(50).itertuples()
    ]


PANDAS: dict[str, Callable[[Frames], Any]] = {
    "trends_dau_by_channel": dau_by_channel,
    "trends_gmv_by_day": gmv_by_day,
    "trends_json_filter": json_filter,
    "metrics_conversion_gmv": conversion_gmv,
    "retention_7d": retention,
    "lifecycle_daily": lifecycle,
    "funnel_4step_24h": funnel,
    "paths_after_app_open": paths,
    "rfm_quintiles": rfm,
    "segment_behaviour": segment,
    "timeline_one_user": timeline,
}


def measure_pandas(
    folder: Path, cases: list[Case], answers: dict[str, Any], out: dict[str, Any], runs: int
) -> None:
    """Load the frames, then per case: check pandas' answer, time it, ratio to the engine."""
    from bench_queries import first_difference, peak_rss_mb, same, timed

    load_s, frames = timed(lambda: load_frames(folder / "events.duckdb"))
    out["pandas_load_s"] = round(load_s, 1)
    for case in cases:
        row = out["cases"][case.name]
        fn = PANDAS[case.name]
        first_s, got = timed(lambda fn=fn: fn(frames))
        want = answers.get(case.name)
        row["pandas_same_answer"] = same(got, want)
        if not row["pandas_same_answer"]:
            row["pandas_difference"] = first_difference(got, want)
            continue
        times = [first_s] + [timed(lambda fn=fn: fn(frames))[0] for _ in range(runs - 1)]
        pd_s = statistics.median(times)
        row["pandas"] = {"median_s": round(pd_s, 3), "min_s": round(min(times), 3)}
        if "engine" in row:
            row["pandas_over_engine"] = round(pd_s / row["engine"]["median_s"], 1)
        print(f"{case.name}: pandas {row['pandas']}", file=sys.stderr, flush=True)
    PropertyReading.columns = True
    try:
        for case in cases:
            row = out["cases"][case.name]
            if case.name not in TYPED_CASES or not row.get("pandas_same_answer"):
                continue
            fn = PANDAS[case.name]
            first_s, got = timed(lambda fn=fn: fn(frames))
            if not same(got, answers.get(case.name)):
                row["pandas_columns_difference"] = first_difference(got, answers.get(case.name))
                continue
            times = [first_s] + [timed(lambda fn=fn: fn(frames))[0] for _ in range(runs - 1)]
            pd_s = statistics.median(times)
            row["pandas_columns"] = {"median_s": round(pd_s, 3), "min_s": round(min(times), 3)}
            if "engine" in row:
                row["pandas_columns_over_engine"] = round(pd_s / row["engine"]["median_s"], 1)
            print(f"{case.name}: pandas, typed columns {row['pandas_columns']}", file=sys.stderr)
    finally:
        PropertyReading.columns = False
    out["pandas_peak_rss_mb"] = peak_rss_mb()
