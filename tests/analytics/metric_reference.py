"""An independent pandas reference for every built-in metric, written from metrics.md and the
catalog's descriptions (not from its YAML or SQL): each metric is restated here as plain frame
operations over the world's events, per (breakdown value, bucket) and over the whole range.

`Ref` holds one metric's values; building blocks compute leaves, `ratio`/`product` combine them
per cell, as the catalog's formulas must.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from opsloop.events.schema import PERSON_ONLY_EVENTS

Key = tuple[Any, str]
NONE = "\x00none"  # breakdown value of events without one (pandas drops None group keys)
CHANNEL_KEYS = ("$channel", "channel", "utm_source", "$utm_source")


@dataclass
class Ref:
    cells: dict[Key, float | None]
    totals: dict[Any, float | None]
    empty: float | None = 0.0
    bvs: set[Any] = field(default_factory=set)
    empty_of: dict[Any, float | None] = field(default_factory=dict)

    def value(self, bv: Any, bucket: str) -> float | None:
        return self.cells.get((bv, bucket), self.empty_of.get(bv, self.empty))

    def total(self, bv: Any) -> float | None:
        return self.totals.get(bv, self.empty_of.get(bv, self.empty))


def bucket_of(day: date, grain: str) -> str:
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def labels(lo: date, hi: date, grain: str) -> list[str]:
    return list(
        dict.fromkeys(bucket_of(lo + timedelta(days=i), grain) for i in range((hi - lo).days + 1))
    )


@dataclass
class World:
    """The events with the columns the reference reads, and the query's frame."""

    events: pd.DataFrame  # person_id, event, ts, local, props
    lo: date
    hi: date
    grain: str
    breakdown: str | None = None  # an event property, or "$first_touch_channel"
    filters: list[Callable[[dict[str, Any]], bool]] = field(default_factory=list)
    spend: list[tuple[str, date, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        e = self.events.copy()
        e["day"] = e["local"].dt.date
        e = e[e["local"] < pd.Timestamp(self.hi) + pd.Timedelta(days=1)]
        e = e.sort_values(["ts"], kind="stable")  # history up to the range's end
        self.first_touch = self._first_touch(e)
        self.raw = e.assign(bv=self._bv(e), bucket=e["day"].map(self._bucket))
        self.all = self.raw[self.passes(self.raw)]

    def passes(self, e: pd.DataFrame) -> pd.Series:
        keep = pd.Series(True, index=e.index)
        for test in self.filters:
            keep &= e["props"].map(test).astype(bool)
        return keep

    def _bucket(self, day: date) -> str:
        return bucket_of(day, self.grain)

    def _first_touch(self, e: pd.DataFrame) -> dict[str, Any]:
        e = e[~e["event"].isin(PERSON_ONLY_EVENTS)]  # activity events only
        channel = e["props"].map(
            lambda p: next((p[k] for k in CHANNEL_KEYS if p.get(k) is not None), None)
        )
        e = e.assign(channel=channel).dropna(subset=["channel"]).sort_values("ts", kind="stable")
        return e.groupby("person_id")["channel"].first().to_dict()

    def _bv(self, e: pd.DataFrame) -> pd.Series:
        if self.breakdown is None:
            return pd.Series(NONE, index=e.index)
        if self.breakdown == "$first_touch_channel":
            return e["person_id"].map(lambda p: self.first_touch.get(p, NONE))
        key = self.breakdown
        return e["props"].map(lambda p: NONE if p.get(key) is None else str(p.get(key)))

    def in_range(self, e: pd.DataFrame) -> pd.DataFrame:
        return e[e["day"] >= self.lo]

    def select(
        self, names: tuple[str, ...], test: Callable[[dict[str, Any]], bool] | None = None
    ) -> pd.DataFrame:
        e = self.all
        if names == ("$any",):
            e = e[~e["event"].isin(PERSON_ONLY_EVENTS)]
        else:
            e = e[e["event"].isin(names)]
        if test is not None:
            e = e[e["props"].map(test).astype(bool)]
        return e


def _grouped(
    e: pd.DataFrame, fn: Callable[[pd.DataFrame], float | None], empty: float | None
) -> Ref:
    cells = {(bv, b): fn(g) for (bv, b), g in e.groupby(["bv", "bucket"])}
    totals = {bv: fn(g) for bv, g in e.groupby("bv")}
    return Ref(cells, totals, empty, set(totals))


def number(p: dict[str, Any], key: str) -> float | None:
    v = p.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def count(
    w: World, names: tuple[str, ...], test: Callable[[dict[str, Any]], bool] | None = None
) -> Ref:
    return _grouped(w.in_range(w.select(names, test)), lambda g: float(len(g)), 0.0)


def users(
    w: World,
    names: tuple[str, ...],
    test: Callable[[dict[str, Any]], bool] | None = None,
    min_days: int = 1,
) -> Ref:
    def fn(g: pd.DataFrame) -> float:
        per = g.groupby("person_id")["day"].nunique()
        return float((per >= min_days).sum())

    return _grouped(w.in_range(w.select(names, test)), fn, 0.0)


def numeric(w: World, names: tuple[str, ...], prop: str, how: str, p: float = 0.5) -> Ref:
    e = w.in_range(w.select(names))
    e = e.assign(value=e["props"].map(lambda x: number(x, prop)))

    def fn(g: pd.DataFrame) -> float | None:
        v = g["value"].dropna()
        if how == "sum":
            return float(v.sum())
        if v.empty:
            return None
        return float(v.quantile(p)) if how == "percentile" else float(getattr(v, how)())

    return _grouped(e, fn, 0.0 if how == "sum" else None)


def distinct(w: World, names: tuple[str, ...], prop: str) -> Ref:
    e = w.in_range(w.select(names))
    e = e.assign(value=e["props"].map(lambda x: None if x.get(prop) is None else str(x.get(prop))))
    return _grouped(e, lambda g: float(g["value"].dropna().nunique()), 0.0)


def firsts(w: World, names: tuple[str, ...]) -> pd.DataFrame:
    """Each person's first event of `names` up to the range's end (the frame is time-sorted),
    kept when it passes the filters."""
    e = w.raw
    e = e[~e["event"].isin(PERSON_ONLY_EVENTS)] if names == ("$any",) else e[e["event"].isin(names)]
    first = e.groupby("person_id", sort=False).head(1)
    return first[w.passes(first)]


def new_users(w: World, names: tuple[str, ...]) -> Ref:
    return _grouped(w.in_range(firsts(w, names)), lambda g: float(len(g)), 0.0)


def retention(w: World, days: int) -> Ref:
    last = w.events["local"].max().date()  # the last day with any data (events of any kind)
    end = min(w.hi, last)
    f = firsts(w, ("$any",))
    f = f[(f["day"] >= w.lo) & (f["day"] <= end - timedelta(days=days))]
    active = set(zip(w.select(("$any",))["person_id"], w.select(("$any",))["day"], strict=True))
    f = f.assign(
        ret=[
            (p, d + timedelta(days=days)) in active
            for p, d in zip(f["person_id"], f["day"], strict=True)
        ]
    )
    r = _grouped(f, lambda g: float(g["ret"].mean()) if len(g) else None, None)
    return r


def active(w: World, period: str | None, window: int = 1) -> Ref:
    """Calendar (`period`) or rolling (`window` days, period None) active persons, averaged."""
    e = w.select(("$any",))
    span = [w.lo + timedelta(days=i) for i in range((w.hi - w.lo).days + 1)]
    per_day: dict[tuple[Any, date], float] = {}
    if period is None:
        for d in span:
            x = e[(e["day"] > d - timedelta(days=window)) & (e["day"] <= d)]
            for bv, g in x.groupby("bv"):
                per_day[(bv, d)] = float(g["person_id"].nunique())
        units = {d: d for d in span}  # each day is its own unit
        counts = per_day
    else:
        e = w.in_range(e)
        units = {d: (w._bucket(d), bucket_of(d, period)) for d in span}
        counts = {}
        for (bv, b, p), g in e.assign(period=e["day"].map(lambda d: bucket_of(d, period))).groupby(
            ["bv", "bucket", "period"]
        ):
            counts[(bv, (b, p))] = float(g["person_id"].nunique())
        totals_by_period = {}
        for (bv, p), g in e.assign(period=e["day"].map(lambda d: bucket_of(d, period))).groupby(
            ["bv", "period"]
        ):
            totals_by_period[(bv, p)] = float(g["person_id"].nunique())
    bvs = {bv for bv, _ in counts}
    cells: dict[Key, float | None] = {}
    totals: dict[Any, float | None] = {}
    for bv in bvs:
        for b in labels(w.lo, w.hi, w.grain):
            members = sorted({u for d, u in units.items() if w._bucket(d) == b}, key=str)
            cells[(bv, b)] = sum(counts.get((bv, u), 0.0) for u in members) / len(members)
        if period is None:
            totals[bv] = sum(counts.get((bv, d), 0.0) for d in span) / len(span)
        else:
            ps = sorted({bucket_of(d, period) for d in span})
            totals[bv] = sum(totals_by_period.get((bv, p), 0.0) for p in ps) / len(ps)
    return Ref(cells, totals, 0.0, bvs)


def referred(w: World) -> Ref:
    inv = w.in_range(w.select(("invite",)))
    inv = inv.assign(code=inv["props"].map(lambda p: p.get("invite_code"))).dropna(subset=["code"])
    su = w.events[
        (w.events["event"] == "sign_up")
        & (w.events["local"] < pd.Timestamp(w.hi) + pd.Timedelta(days=1))
    ]
    codes: dict[str, set[str]] = {}
    for person, p in zip(su["person_id"], su["props"], strict=True):
        if p.get("invite_code") is not None:
            codes.setdefault(p["invite_code"], set()).add(person)

    def fn(g: pd.DataFrame) -> float:
        return float(len(set().union(*(codes.get(c, set()) for c in g["code"]))))

    return _grouped(inv, fn, 0.0)


def spend(w: World) -> Ref:
    cells: dict[Key, float | None] = {}
    totals: dict[Any, float | None] = {}
    for channel, day, amount in w.spend:
        if not w.lo <= day <= w.hi:
            continue
        bv = channel if w.breakdown == "$first_touch_channel" else NONE
        key = (bv, bucket_of(day, w.grain))
        cells[key] = (cells.get(key) or 0.0) + amount
        totals[bv] = (totals.get(bv) or 0.0) + amount
    return Ref(cells, totals, None, set(totals), dict.fromkeys(totals, 0.0))


def combine(a: Ref, b: Ref, op: Callable[[float, float], float | None]) -> Ref:
    bvs = a.bvs | b.bvs
    keys = set(a.cells) | set(b.cells)

    def f(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else op(x, y)

    cells = {k: f(a.value(*k), b.value(*k)) for k in keys}
    totals = {bv: f(a.total(bv), b.total(bv)) for bv in bvs}
    empties = [f(a.value(bv, "\x00"), b.value(bv, "\x00")) for bv in bvs]
    ref = Ref(cells, totals, f(a.empty, b.empty), bvs)
    ref.empty_of = {bv: e for bv, e in zip(bvs, empties, strict=True) if e != ref.empty}
    return ref


def ratio(a: Ref, b: Ref) -> Ref:
    return combine(a, b, lambda x, y: None if y == 0 else x / y)


def product(a: Ref, b: Ref) -> Ref:
    return combine(a, b, lambda x, y: x * y)
