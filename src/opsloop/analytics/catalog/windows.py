"""The leaves counted per local day and then gathered into buckets in Python: active users per
calendar period or rolling window, and N-day retention (cohort days pooled per bucket).

The SQL returns one row per breakdown value and day (or period), so its size is bounded by the
range, not by the events; the averaging and pooling are plain arithmetic here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from opsloop.analytics.catalog.leaves import LeafResult, bucket_column, first_events
from opsloop.analytics.catalog.scope import Scope, date_bucket, days
from opsloop.analytics.catalog.spec import ActiveUsersMetric, RetentionMetric
from opsloop.analytics.dialect import EPOCH
from opsloop.analytics.queries.retention import last_data_day
from opsloop.analytics.source import events_source
from opsloop.errors import InvalidInput

PERIOD_ORDER = {"day": 0, "week": 1, "month": 2}
Bv = str | None


def _day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def _day_number(day: date) -> int:
    return (day - EPOCH).days


def active_users(scope: Scope, metric: ActiveUsersMetric) -> LeafResult:
    if scope.grain == "hour":
        raise InvalidInput(
            f"{metric.key} counts persons per day or longer: use interval day, week or month",
            "interval",
        )
    if metric.rolling:
        return _rolling(scope, metric)
    if PERIOD_ORDER[metric.period] > PERIOD_ORDER[scope.grain]:
        allowed = [g for g, n in PERIOD_ORDER.items() if n >= PERIOD_ORDER[metric.period]]
        raise InvalidInput(
            f"{metric.key} counts persons per {metric.period}: use interval {' or '.join(allowed)}",
            "interval",
        )
    return _calendar(scope, metric)


def _calendar(scope: Scope, metric: ActiveUsersMetric) -> LeafResult:
    """Mean over the periods of each bucket (clipped to it) of their distinct active persons."""
    d, tz = scope.ctx.dialect, scope.ctx.timezone
    columns = {
        "bucket": bucket_column(scope),
        "period": d.bucket_label(metric.period, "e.timestamp", tz),
    }
    source = scope.source(scope.date_from, scope.date_to, metric.event, metric.filters, columns)
    rows = scope.ctx.engine.rows(
        f"SELECT bv, bucket, period, {d.to_double(d.count_distinct('person_id'))} FROM ({source})"
        " AS x GROUP BY GROUPING SETS ((bv, bucket, period), (bv, period))"
        f"{d.grouping_sets_suffix()}"
    )
    periods: dict[str, set[str]] = defaultdict(set)
    every: set[str] = set()
    for day in days(scope.date_from, scope.date_to):
        period = date_bucket(metric.period, day)
        periods[date_bucket(scope.grain, day)].add(period)
        every.add(period)
    sums: dict[tuple[Bv, str], float] = defaultdict(float)
    totals: dict[Bv, float] = defaultdict(float)
    for bv, bucket, _, n in rows:
        if bucket is None:
            totals[bv] += float(n)
        else:
            sums[(bv, str(bucket))] += float(n)
    cells = {(bv, b): v / len(periods[b]) for (bv, b), v in sums.items()}
    return LeafResult(cells, {bv: v / len(every) for bv, v in totals.items()}, 0.0)


def _rolling(scope: Scope, metric: ActiveUsersMetric) -> LeafResult:
    """Per day, the persons active in the window_days days ending on it; a bucket's mean."""
    d, tz = scope.ctx.dialect, scope.ctx.timezone
    n = metric.window_days
    source = scope.source(
        scope.date_from - timedelta(days=n - 1),
        scope.date_to,
        metric.event,
        metric.filters,
        {"day": d.local_day_number("e.timestamp", tz)},
    )
    lo, hi = _day_number(scope.date_from), _day_number(scope.date_to)
    rows = scope.ctx.engine.rows(
        f"SELECT bv, day + k AS wd, {d.to_double(d.count_distinct('person_id'))}"
        f" FROM (SELECT DISTINCT person_id, bv, day FROM ({source}) AS s) AS a"
        f" CROSS JOIN {d.integers(n)} AS w WHERE day + k BETWEEN {lo} AND {hi} GROUP BY bv, wd"
    )
    per_bucket: dict[str, int] = defaultdict(int)
    for day in days(scope.date_from, scope.date_to):
        per_bucket[date_bucket(scope.grain, day)] += 1
    sums: dict[tuple[Bv, str], float] = defaultdict(float)
    totals: dict[Bv, float] = defaultdict(float)
    for bv, wd, count in rows:
        sums[(bv, date_bucket(scope.grain, _day(wd)))] += float(count)
        totals[bv] += float(count)
    span = (scope.date_to - scope.date_from).days + 1
    cells = {(bv, b): v / per_bucket[b] for (bv, b), v in sums.items()}
    return LeafResult(cells, {bv: v / span for bv, v in totals.items()}, 0.0)


def retention(scope: Scope, metric: RetentionMetric) -> LeafResult:
    """Cohort days d of the range with d + days ended (range end and last data day); per
    bucket of d: retained ÷ new users, pooled."""
    date_bucket(scope.grain, scope.date_from)  # refuses the hour grain
    last = last_data_day(scope.ctx)
    end = scope.date_to if last is None else min(scope.date_to, last)
    last_cohort = end - timedelta(days=metric.days)
    if last is None or last_cohort < scope.date_from:
        return LeafResult({}, {}, None)
    d, tz = scope.ctx.dialect, scope.ctx.timezone
    day = d.local_day_number("e.timestamp", tz)
    cohort = first_events(scope, metric, {"day0": day})
    first = metric.days if metric.mode == "on" else 1
    back = events_source(
        scope.ctx,
        scope.date_from + timedelta(days=first),
        end,
        events=list(metric.return_event),
        filters=list(scope.filters),
        with_person=scope.needs_person(),
        columns={"day": day},
    )
    returned = (
        f"CASE WHEN b.day >= c.day0 + {first} AND b.day <= c.day0 + {metric.days} THEN 1 ELSE 0 END"
    )
    per_person = (
        f"SELECT c.person_id AS person_id, c.bv AS bv, c.day0 AS day0, max({returned}) AS ret"
        f" FROM (SELECT person_id, bv, day0 FROM ({cohort}) AS cc"
        f" WHERE day0 <= {_day_number(last_cohort)}) AS c"
        f" LEFT JOIN (SELECT DISTINCT person_id, day FROM ({back}) AS bb) AS b"
        " ON b.person_id = c.person_id GROUP BY c.person_id, c.bv, c.day0"
    )
    rows = scope.ctx.engine.rows(
        f"SELECT bv, day0, {d.to_int('count(*)')}, {d.to_int('sum(ret)')} FROM ({per_person}) AS pp"
        " GROUP BY bv, day0"
    )
    size: dict[tuple[Bv, str], int] = defaultdict(int)
    kept: dict[tuple[Bv, str], int] = defaultdict(int)
    for bv, day0, n, r in rows:
        key = (bv, date_bucket(scope.grain, _day(day0)))
        size[key] += int(n)
        kept[key] += int(r)
    cells = {key: kept[key] / n for key, n in size.items() if n}
    total_size: dict[Bv, int] = defaultdict(int)
    total_kept: dict[Bv, int] = defaultdict(int)
    for (bv, _), n in size.items():
        total_size[bv] += n
        total_kept[bv] += kept[(bv, _)]
    totals: dict[Bv, float | None] = {bv: total_kept[bv] / n for bv, n in total_size.items()}
    return LeafResult(cells, totals, None, weights={bv: float(n) for bv, n in total_size.items()})
