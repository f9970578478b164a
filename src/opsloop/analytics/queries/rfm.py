"""RFM layering (RFM 模型): recency, frequency and monetary value per person, scored 1–5, and the
eight segments of metrics.md ("RFM layering").

Definitions (window = local dates `date_from`..`as_of`, both inclusive; by default the 365 local
days ending on `as_of`, i.e. `date_from` = `as_of` − 364 days, counted as a segment rule's "in the
last N days" is; the console's RFM explorer and the `rfm_segment` rule both take this default):
- R `recency_days` = whole days from the local date of the person's last `event` in the window to
  `as_of` (0 = paid on `as_of`); F `frequency` = number of `event`s in the window; M `monetary` =
  sum of the numeric `amount_property` over them. An event whose amount is missing or not a number
  counts for F and adds 0 to M. Amounts are summed in millionths (each rounded half up), so the
  sum is exact and the same on every engine whatever the order, and equal sums are true ties.
- Only persons with at least one `event` in the window are scored.
- `quintile` scoring, per dimension, tie-stable: sort the n scored persons so that better comes
  later (F and M ascending, R by recency descending, i.e. most recent last); a person's rank is
  1 + the number of persons strictly worse (ties share the lowest rank, SQL `RANK()`), and
  score = 1 + floor(5 × (rank − 1) / n). Equal values always get equal scores; the worst value
  scores 1; a value shared by everyone scores 1 for everyone; with n < 5 some scores are unused.
- `thresholds` scoring: four ascending cut points per dimension. F and M: score = 1 + the number
  of cut points ≤ value (value 7 with cuts [2, 4, 6, 8] scores 4). R (days, smaller is better):
  score = 5 − the number of cut points < recency_days (cuts [7, 30, 90, 180]: ≤ 7 days scores 5,
  8–30 days 4, …, over 180 days 1).
- A dimension is high when its score is above the mean score of all scored persons (`high:
  "mean"`, strictly above; compared exactly as score × n > sum of scores), or, with `high:
  "threshold"`, when its score is ≥ `high_score`.
- Results are ordered by monetary desc, frequency desc, recency asc, person id; `limit`/`offset`
  page them (optionally within one `segment`); `summary` always counts all scored persons;
  `distinct_id` is the person's smallest distinct id (all of them: the segment query).
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from opsloop.analytics.context import QueryContext, check_range
from opsloop.analytics.filters import PropertyFilter, needs_person, property_number
from opsloop.analytics.segments.persons import canonical_person_id, distinct_ids_of
from opsloop.analytics.source import events_source
from opsloop.errors import InvalidInput

# Local days in the default window, `as_of` included.
DEFAULT_WINDOW_DAYS = 365
MICROS = 1_000_000

# (zh-CN name, English name, (R high, F high, M high)) in metrics.md's order.
SEGMENTS: tuple[tuple[str, str, tuple[bool, bool, bool]], ...] = (
    ("重要价值客户", "important value", (True, True, True)),
    ("重要发展客户", "important to develop", (True, False, True)),
    ("重要保持客户", "important to keep", (False, True, True)),
    ("重要挽留客户", "important to retain", (False, False, True)),
    ("一般价值客户", "general value", (True, True, False)),
    ("一般发展客户", "general development", (True, False, False)),
    ("一般保持客户", "general keep", (False, True, False)),
    ("一般挽留客户", "general retain", (False, False, False)),
)


def segment_index(name: str) -> int | None:
    """The position in SEGMENTS of a segment named in zh-CN or English (None if unknown)."""
    for i, (zh, en, _) in enumerate(SEGMENTS):
        if name in (zh, en):
            return i
    return None


class RfmThresholds(BaseModel):
    """Four ascending cut points per dimension (see the module docstring for the scores)."""

    recency: list[float] = Field(min_length=4, max_length=4, examples=[[7, 30, 90, 180]])
    frequency: list[float] = Field(min_length=4, max_length=4, examples=[[2, 3, 5, 10]])
    monetary: list[float] = Field(min_length=4, max_length=4, examples=[[100, 300, 1000, 3000]])

    @field_validator("recency", "frequency", "monetary")
    @classmethod
    def _ascending(cls, cuts: list[float]) -> list[float]:
        if any(b <= a for a, b in pairwise(cuts)):
            raise ValueError("cut points must be strictly ascending")
        return cuts


class RfmQuery(BaseModel):
    kind: Literal["rfm"] = "rfm"
    event: str = Field(default="pay", min_length=1, max_length=200, description="the order event")
    amount_property: str = Field(default="amount", min_length=1, max_length=200)
    as_of: date | None = Field(
        default=None, description="end of the window and the date recency counts to; default today"
    )
    date_from: date | None = Field(
        default=None,
        description="window start; default as_of − 364 (the 365 local days ending on as_of)",
    )
    filters: list[PropertyFilter] = Field(default_factory=list, description="on the order events")
    scoring: Literal["quintile", "thresholds"] = "quintile"
    thresholds: RfmThresholds | None = None
    high: Literal["mean", "threshold"] = Field(
        default="mean", description="high = score above the mean score, or ≥ high_score"
    )
    high_score: int = Field(default=3, ge=1, le=5)
    segment: str | None = Field(default=None, description="page only this segment's persons")
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _thresholds_for_scoring(self) -> RfmQuery:
        if self.scoring == "thresholds" and self.thresholds is None:
            raise ValueError("scoring 'thresholds' needs thresholds")
        return self


def default_window_start(as_of: date) -> date:
    """The first local day of the default window: DEFAULT_WINDOW_DAYS days ending on `as_of`."""
    return as_of - timedelta(days=DEFAULT_WINDOW_DAYS - 1)


def resolve_window(ctx: QueryContext, q: RfmQuery) -> tuple[date, date]:
    as_of = q.as_of or ctx.today()
    date_from = q.date_from or default_window_start(as_of)
    check_range(date_from, as_of, "as_of")
    return date_from, as_of


def _micros(value: float) -> int:
    return int((value * MICROS + 0.5) // 1)


def _score_sql(ctx: QueryContext, q: RfmQuery, column: str, dim: str) -> str:
    d = ctx.dialect
    if q.scoring == "thresholds":
        assert q.thresholds is not None
        cuts: list[float] = getattr(q.thresholds, dim)
        if dim == "recency":
            parts = [f"CASE WHEN {column} > {d.literal(float(c))} THEN 1 ELSE 0 END" for c in cuts]
            return d.to_int(f"5 - {' - '.join(parts)}")
        if dim == "monetary":
            cuts = [_micros(c) for c in cuts]
        parts = [f"CASE WHEN {column} >= {d.literal(c)} THEN 1 ELSE 0 END" for c in cuts]
        return d.to_int(f"1 + {' + '.join(parts)}")
    order = f"{column} DESC" if dim == "recency" else column
    rank = f"rank() OVER (ORDER BY {order})"
    return d.to_int(f"1 + floor({d.to_double('5')} * ({rank} - 1) / count(*) OVER ())")


def _high_sql(q: RfmQuery, score: str, total: str) -> str:
    if q.high == "threshold":
        return f"({score} >= {q.high_score})"
    return f"({score} * n > {total})"


def rfm_scored_sql(ctx: QueryContext, q: RfmQuery) -> str:
    """SELECT person_id, recency_days, frequency, micros, r_score, f_score, m_score, n, r_sum,
    f_sum, m_sum and seg (index into SEGMENTS) for every scored person. The id's text is made
    only for the rows a caller returns (carried through every window, it cost 8% of the query)."""
    d = ctx.dialect
    date_from, as_of = resolve_window(ctx, q)
    amount = property_number(d, q.amount_property)
    source = events_source(
        ctx,
        date_from,
        as_of,
        events=[q.event],
        filters=q.filters,
        with_person=needs_person(q.filters),
        columns={
            "day": d.local_date("e.timestamp", ctx.timezone, ctx.span(date_from, as_of)),
            "micro": d.to_int(f"floor({amount} * {MICROS} + 0.5)"),
        },
    )
    as_of_sql = f"CAST({d.string(as_of.isoformat())} AS DATE)"
    measured = (
        f"SELECT person_id,"
        f" {d.to_int(d.date_diff('day', 'max(day)', as_of_sql))} AS recency_days,"
        f" {d.to_int('count(*)')} AS frequency, {d.to_int('sum(coalesce(micro, 0))')} AS micros"
        f" FROM ({source}) AS src GROUP BY person_id"
    )
    scored = (
        f"SELECT person_id, recency_days, frequency, micros,"
        f" {_score_sql(ctx, q, 'recency_days', 'recency')} AS r_score,"
        f" {_score_sql(ctx, q, 'frequency', 'frequency')} AS f_score,"
        f" {_score_sql(ctx, q, 'micros', 'monetary')} AS m_score FROM ({measured}) AS measured"
    )
    totals = (
        f"SELECT *, {d.to_int('count(*) OVER ()')} AS n,"
        f" {d.to_int('sum(r_score) OVER ()')} AS r_sum,"
        f" {d.to_int('sum(f_score) OVER ()')} AS f_sum,"
        f" {d.to_int('sum(m_score) OVER ()')} AS m_sum FROM ({scored}) AS scored"
    )
    flags = [
        _high_sql(q, "r_score", "r_sum"),
        _high_sql(q, "f_score", "f_sum"),
        _high_sql(q, "m_score", "m_sum"),
    ]
    cases = " ".join(
        f"WHEN {' AND '.join(f if hi else f'NOT {f}' for f, hi in zip(flags, highs, strict=True))}"
        f" THEN {i}"
        for i, (_, _, highs) in enumerate(SEGMENTS)
    )
    return (
        f"SELECT person_id, recency_days, frequency, micros, r_score, f_score, m_score,"
        f" n, r_sum, f_sum, m_sum, {d.to_int(f'CASE {cases} END')} AS seg FROM ({totals}) AS totals"
    )


def _page_sql(ctx: QueryContext, q: RfmQuery, seg: int | None) -> str:
    """The page's rows (in_page = 1) plus one row per segment carrying its size. Ties are broken
    by person id in its text's order, sorted on the UUID itself (uuid_order), which is cheaper
    than sorting the text; any row of a segment carries its size."""
    d = ctx.dialect
    order = f"micros DESC, frequency DESC, recency_days ASC, {d.uuid_order('person_id')} ASC"
    if seg is None:
        rn = f"row_number() OVER (ORDER BY {order})"
        in_page = f"rn > {q.offset} AND rn <= {q.offset + q.limit}"
    else:
        rn = f"row_number() OVER (PARTITION BY seg = {seg} ORDER BY {order})"
        in_page = f"seg = {seg} AND rn > {q.offset} AND rn <= {q.offset + q.limit}"
    ranked = (
        f"SELECT *, {rn} AS rn, count(*) OVER (PARTITION BY seg) AS seg_users,"
        f" row_number() OVER (PARTITION BY seg) AS seg_rn"
        f" FROM ({rfm_scored_sql(ctx, q)}) AS scored_all"
    )
    return (
        f"SELECT {d.uuid_text('person_id')} AS pid, recency_days, frequency, micros, r_score,"
        " f_score, m_score, seg,"
        f" {d.to_int('seg_users')}, n, r_sum, f_sum, m_sum,"
        f" {d.to_int(f'CASE WHEN {in_page} THEN 1 ELSE 0 END')} AS in_page, {d.to_int('rn')}"
        f" FROM ({ranked}) AS ranked WHERE ({in_page}) OR seg_rn = 1 ORDER BY in_page DESC, rn"
    )


def run_rfm(ctx: QueryContext, q: RfmQuery) -> dict[str, Any]:
    date_from, as_of = resolve_window(ctx, q)
    seg: int | None = None
    if q.segment is not None:
        seg = segment_index(q.segment)
        if seg is None:
            raise InvalidInput(f"unknown RFM segment {q.segment!r}", "segment")
    rows = ctx.engine.rows(_page_sql(ctx, q, seg))
    sizes = {int(r[7]): int(r[8]) for r in rows}
    page = [r for r in rows if r[13] == 1]
    names = distinct_ids_of(ctx, [str(r[0]) for r in page])
    results = [
        {
            "person_id": str(r[0]),
            "distinct_id": next(iter(names.get(str(r[0]), [])), None),
            "recency_days": int(r[1]),
            "frequency": int(r[2]),
            "monetary": _money(int(r[3])),
            "r_score": int(r[4]),
            "f_score": int(r[5]),
            "m_score": int(r[6]),
            "segment": SEGMENTS[int(r[7])][0],
            "segment_en": SEGMENTS[int(r[7])][1],
        }
        for r in page
    ]
    n = int(rows[0][9]) if rows else 0
    sums = [int(x) for x in rows[0][10:13]] if rows else [0, 0, 0]
    return {
        "kind": "rfm",
        "as_of": as_of.isoformat(),
        "date_from": date_from.isoformat(),
        "count": n,
        "mean_scores": {k: (s / n if n else None) for k, s in zip("rfm", sums, strict=True)},
        "results": results,
        "summary": [
            {"segment": zh, "segment_en": en, "users": sizes.get(i, 0)}
            for i, (zh, en, _) in enumerate(SEGMENTS)
        ],
    }


def _money(micros: int) -> int | float:
    value = micros / MICROS
    return int(value) if value.is_integer() else value


def person_rfm(ctx: QueryContext, q: RfmQuery, person_id: str) -> dict[str, Any] | None:
    """One person's row of the answer `q` asks for, scored among everyone exactly as run_rfm
    scores them (the same SQL), with the mean scores that decide "high"; None when the person has
    no `event` in the window."""
    d = ctx.dialect
    canonical = canonical_person_id(person_id)
    if canonical is None:
        return None  # not a person id: no person has it
    rows = ctx.engine.rows(
        "SELECT recency_days, frequency, micros, r_score, f_score, m_score, seg, n, r_sum, f_sum,"
        f" m_sum FROM ({rfm_scored_sql(ctx, q)}) AS scored"
        f" WHERE person_id = {d.uuid_literal(canonical)}"
    )
    if not rows:
        return None
    r = rows[0]
    n = int(r[7])
    return {
        "person_id": canonical,
        "recency_days": int(r[0]),
        "frequency": int(r[1]),
        "monetary": _money(int(r[2])),
        "r_score": int(r[3]),
        "f_score": int(r[4]),
        "m_score": int(r[5]),
        "segment": SEGMENTS[int(r[6])][0],
        "segment_en": SEGMENTS[int(r[6])][1],
        "count": n,
        "mean_scores": {k: int(s) / n for k, s in zip("rfm", r[8:11], strict=True)},
    }
