"""How each engine spells what differs: literals, time zones and buckets, JSON properties.

Every query is written once against `Dialect`; `DuckDbDialect` and `ClickHouseDialect` override
only what they spell differently. Outputs are cast to plain types (text labels, integers, doubles)
so both engines give equal Python values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Literal

from opsloop.analytics.timezones import Span, offset_case, uses_arithmetic
from opsloop.events.materialized import PropertyKind, check_property_key, number_sql, text_sql

Grain = Literal["hour", "day", "week", "month"]
PeriodGrain = Literal["day", "week", "month"]
EPOCH = date(1970, 1, 1)
WEEK_EPOCH = date(1970, 1, 5)  # a Monday: ISO weeks start on Mondays


# (key, kind) → the events column holding that event property (a materialized property).
MaterializedMap = Mapping[tuple[str, PropertyKind], str]
# Told of each event property a query reads: (key, kind).
UsageRecorder = Callable[[str, PropertyKind], None]


def check_property_name(name: str) -> str:
    return check_property_key(name, "property")


class Dialect:
    """An engine's spelling; an instance may know a workspace's materialized properties, and
    then reads those columns instead of the JSON (same values: events/materialized.py)."""

    name = "base"

    def __init__(
        self, materialized: MaterializedMap | None = None, usage: UsageRecorder | None = None
    ) -> None:
        self.materialized: MaterializedMap = materialized or {}
        self.usage = usage

    # -- literals --------------------------------------------------------------------------------

    def string(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def literal(self, value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, date | datetime):
            return self.string(value.isoformat())
        return self.string(str(value))

    def timestamp(self, value: datetime) -> str:
        raise NotImplementedError  # each engine spells timestamps its own way

    # -- time ------------------------------------------------------------------------------------

    def epoch_micros(self, ts: str) -> str:
        """A timestamp as BIGINT microseconds since 1970-01-01 UTC."""
        raise NotImplementedError

    def int_div(self, a: str, b: int) -> str:
        raise NotImplementedError

    def days_to_date(self, days: str) -> str:
        """DATE from a number of days since 1970-01-01."""
        raise NotImplementedError

    def local_micros(self, ts: str, tz: str, span: Span | None = None) -> str:
        """Wall-clock microseconds in `tz`: integer arithmetic where the zone has few offsets
        (over `span`, the instants the query reads: see timezones.py), else the engine's own
        time-zone conversion."""
        micros = self.epoch_micros(ts)
        if uses_arithmetic(tz, span):
            return f"({micros} + {offset_case(micros, tz, span)})"
        return self.native_local_micros(ts, tz)

    def native_local_micros(self, ts: str, tz: str) -> str:
        raise NotImplementedError

    def local_day_number(self, ts: str, tz: str, span: Span | None = None) -> str:
        """Days since 1970-01-01 of the local calendar day holding `ts`."""
        return self.int_div(self.local_micros(ts, tz, span), 86_400_000_000)

    def local_date(self, ts: str, tz: str, span: Span | None = None) -> str:
        """The calendar day of `ts` in time zone `tz`, as a DATE."""
        return self.days_to_date(self.local_day_number(ts, tz, span))

    def week_start(self, ts: str, tz: str, span: Span | None = None) -> str:
        """The Monday (a DATE) starting the ISO week that holds `ts` in `tz`."""
        return self.days_to_date(self.bucket_key("week", ts, tz, span))

    def month_start(self, day: str) -> str:
        raise NotImplementedError

    def format_date(self, d: str, fmt: str) -> str:
        raise NotImplementedError

    def hour_text(self, hour: str) -> str:
        """'YYYY-MM-DD HH:00' of a number of local hours since 1970-01-01 00:00."""
        raise NotImplementedError

    def bucket_key(self, grain: Grain, ts: str, tz: str, span: Span | None = None) -> str:
        """A cheap grouping key of the bucket holding `ts` in `tz` (an integer or a DATE):
        grouping on it and labelling each group (`bucket_key_label`) gives the groups of
        `bucket_label` without formatting every row. Exact for the instants in `span`."""
        if grain == "hour":
            return self.int_div(self.local_micros(ts, tz, span), 3_600_000_000)
        if grain == "week":
            day = self.local_day_number(ts, tz, span)
            return f"({day} - (({day} + 3) % 7))"  # 1970-01-01 was a Thursday
        if grain == "month":
            return self.month_start(self.local_date(ts, tz, span))
        return self.local_day_number(ts, tz, span)

    def bucket_key_label(self, grain: Grain, key: str) -> str:
        """The text label of a bucket from its `bucket_key`."""
        if grain == "hour":
            return self.hour_text(key)
        if grain == "month":
            return self.format_date(key, "%Y-%m")
        return self.format_date(self.days_to_date(key), "%Y-%m-%d")

    def bucket_label(self, grain: Grain, ts: str, tz: str, span: Span | None = None) -> str:
        """The text label of the bucket (hour/day/ISO week start/month) holding `ts` in `tz`
        (exact for the instants in `span`)."""
        if grain == "month":  # the month's text needs no truncation to its first day
            return self.format_date(self.local_date(ts, tz, span), "%Y-%m")
        return self.bucket_key_label(grain, self.bucket_key(grain, ts, tz, span))

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        raise NotImplementedError

    def date_text(self, d: str) -> str:
        raise NotImplementedError

    # -- periods (retention, lifecycle) ----------------------------------------------------------

    def date_literal(self, value: date) -> str:
        raise NotImplementedError

    def period_start(self, grain: PeriodGrain, ts: str, tz: str, span: Span | None = None) -> str:
        """The first local day (a DATE) of the day / ISO week / month holding `ts` in `tz`
        (exact for the instants in `span`)."""
        if grain == "week":
            return self.week_start(ts, tz, span)
        if grain == "month":
            return self.month_start(self.local_date(ts, tz, span))
        return self.local_date(ts, tz, span)

    def period_number(self, grain: PeriodGrain, day: str) -> str:
        """Consecutive BIGINTs for consecutive periods, from a DATE that starts one: days since
        1970-01-01, weeks since Monday 1970-01-05, months since 1970-01."""
        if grain == "week":
            return self.to_int(f"{self.date_diff('day', self.date_literal(WEEK_EPOCH), day)} / 7")
        return self.to_int(self.date_diff(grain, self.date_literal(EPOCH), day))

    # -- JSON properties -------------------------------------------------------------------------

    def json_text(self, column: str, key: str) -> str:
        """A property as text (numbers and booleans in their JSON spelling); NULL when absent."""
        raise NotImplementedError

    def json_number(self, column: str, key: str) -> str:
        """A numeric property as DOUBLE; NULL when absent or not a number."""
        raise NotImplementedError

    def event_text(self, key: str, alias: str = "e") -> str:
        """An event property as text: its materialized column when there is one, else
        json_text over the event's properties (`alias` names the events table)."""
        return self._event_property(key, "text", alias)

    def event_number(self, key: str, alias: str = "e") -> str:
        """An event property as DOUBLE, as json_number gives it (or its materialized column)."""
        return self._event_property(key, "number", alias)

    def _event_property(self, key: str, kind: PropertyKind, alias: str) -> str:
        check_property_name(key)
        if self.usage is not None:
            self.usage(key, kind)
        column = self.materialized.get((key, kind))
        if column is not None:
            return f'{alias}."{column}"'
        extract = self.json_text if kind == "text" else self.json_number
        return extract(f"{alias}.properties", key)

    # -- misc ------------------------------------------------------------------------------------

    def uuid_text(self, column: str) -> str:
        return f"CAST({column} AS VARCHAR)"

    def uuid_literal(self, value: str) -> str:
        return f"CAST({self.string(value)} AS UUID)"

    def uuid_order(self, column: str) -> str:
        """A sort key ordering UUIDs as their text does (DuckDB's UUID order already does)."""
        return column

    def count_distinct(self, expr: str) -> str:
        return f"count(DISTINCT {expr})"

    def to_int(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"

    def to_double(self, expr: str) -> str:
        return f"CAST({expr} AS DOUBLE)"

    def contains(self, haystack: str, needle: str) -> str:
        return f"(strpos({haystack}, {needle}) > 0)"

    # -- funnels and paths -----------------------------------------------------------------------

    def epoch_us(self, ts: str) -> str:
        """Microseconds since the Unix epoch of a timestamp, as BIGINT."""
        return f"epoch_us({ts})"

    def count_if(self, condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    def median_exact(self, expr: str) -> str:
        """The exact median (the mean of the two middle values for an even count); NULLs skipped,
        NULL when there is no value."""
        return f"quantile_cont({expr}, 0.5)"

    def quantile_exact(self, expr: str, p: float) -> str:
        """The exact p-quantile, interpolating linearly between the closest ranks (numpy's
        default); NULLs skipped, NULL when there is no value."""
        return f"quantile_cont({expr}, {float(p)!r})"

    def integers(self, n: int) -> str:
        """A relation of one column `k` holding 0 .. n-1."""
        return f"(SELECT range AS k FROM range({int(n)}))"

    def lag(self, expr: str, window: str) -> str:
        """The previous row's value (NULL on the first row); `window` is the OVER clause's
        `PARTITION BY .. ORDER BY ..`."""
        return f"lag({expr}) OVER ({window})"

    def lead(self, expr: str, window: str) -> str:
        """The next row's value (NULL on the last row)."""
        return f"lead({expr}) OVER ({window})"

    def grouping_sets_suffix(self) -> str:
        """Appended to a GROUPING SETS query so that a column left out of a set is NULL."""
        return ""


class DuckDbDialect(Dialect):
    name = "duckdb"

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMPTZ {self.string(value.isoformat())}"

    def epoch_micros(self, ts: str) -> str:
        return f"epoch_us({ts})"

    def native_local_micros(self, ts: str, tz: str) -> str:
        return f"epoch_us(timezone({self.string(tz)}, {ts}))"

    def int_div(self, a: str, b: int) -> str:
        return f"({a} // {b})"

    def days_to_date(self, days: str) -> str:
        return f"(DATE '1970-01-01' + CAST({days} AS INTEGER))"

    def month_start(self, day: str) -> str:
        return f"CAST(date_trunc('month', {day}) AS DATE)"

    def format_date(self, d: str, fmt: str) -> str:
        return f"strftime({d}, '{fmt}')"

    def hour_text(self, hour: str) -> str:
        return f"strftime(make_timestamp({hour} * 3600000000), '%Y-%m-%d %H:00')"

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        return f"date_diff('{unit}', {start}, {end})"

    def date_text(self, d: str) -> str:
        return f"strftime({d}, '%Y-%m-%d')"

    def date_literal(self, value: date) -> str:
        return f"DATE {self.string(value.isoformat())}"

    def json_text(self, column: str, key: str) -> str:
        return text_sql(column, key)  # the expression materialized columns are filled with

    def json_number(self, column: str, key: str) -> str:
        return number_sql(column, key)


class ClickHouseDialect(Dialect):
    name = "clickhouse"

    def string(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def timestamp(self, value: datetime) -> str:
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"toDateTime64({self.string(text)}, 6, 'UTC')"

    def epoch_micros(self, ts: str) -> str:
        return f"toUnixTimestamp64Micro({ts})"

    def native_local_micros(self, ts: str, tz: str) -> str:
        zoned = f"toTimeZone({ts}, {self.string(tz)})"
        return f"(toUnixTimestamp64Micro({ts}) + toInt64(timeZoneOffset({zoned})) * 1000000)"

    def int_div(self, a: str, b: int) -> str:
        return f"intDiv({a}, {b})"

    def days_to_date(self, days: str) -> str:
        return f"addDays(toDate('1970-01-01'), toInt32({days}))"

    def month_start(self, day: str) -> str:
        return f"toStartOfMonth({day})"

    def format_date(self, d: str, fmt: str) -> str:
        return f"formatDateTime({d}, '{fmt}')"

    def hour_text(self, hour: str) -> str:
        return f"formatDateTime(toDateTime({hour} * 3600, 'UTC'), '%Y-%m-%d %H:00', 'UTC')"

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        return f"dateDiff('{unit}', {start}, {end})"

    def date_text(self, d: str) -> str:
        return f"formatDateTime({d}, '%Y-%m-%d')"

    def date_literal(self, value: date) -> str:
        return f"toDate({self.string(value.isoformat())})"

    def json_text(self, column: str, key: str) -> str:
        k = self.string(check_property_name(key))
        return (
            f"multiIf(NOT JSONHas({column}, {k}), NULL,"
            f" JSONType({column}, {k}) = 'String', JSONExtractString({column}, {k}),"
            f" JSONType({column}, {k}) = 'Null', NULL,"
            f" JSONExtractRaw({column}, {k}))"
        )

    def json_number(self, column: str, key: str) -> str:
        k = self.string(check_property_name(key))
        return (
            f"if(JSONType({column}, {k}) IN ('Int64', 'UInt64', 'Double'),"
            f" JSONExtractFloat({column}, {k}), NULL)"
        )

    def uuid_text(self, column: str) -> str:
        return f"toString({column})"

    def uuid_literal(self, value: str) -> str:
        return f"toUUID({self.string(value)})"

    def uuid_order(self, column: str) -> str:
        return f"toString({column})"  # ClickHouse orders UUIDs by their swapped 64-bit halves

    def count_distinct(self, expr: str) -> str:
        return f"uniqExact({expr})"

    def to_int(self, expr: str) -> str:
        return f"toInt64({expr})"

    def to_double(self, expr: str) -> str:
        return f"toFloat64({expr})"

    def contains(self, haystack: str, needle: str) -> str:
        return f"(position({haystack}, {needle}) > 0)"

    def epoch_us(self, ts: str) -> str:
        return f"toUnixTimestamp64Micro({ts})"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def median_exact(self, expr: str) -> str:
        return f"quantileExactInclusive(0.5)({expr})"

    def quantile_exact(self, expr: str, p: float) -> str:
        return f"quantileExactInclusive({float(p)!r})({expr})"

    def integers(self, n: int) -> str:
        return f"(SELECT number AS k FROM numbers({int(n)}))"

    def lag(self, expr: str, window: str) -> str:
        frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        return f"lagInFrame(toNullable({expr})) OVER ({window} {frame})"

    def lead(self, expr: str, window: str) -> str:
        frame = "ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING"
        return f"leadInFrame(toNullable({expr})) OVER ({window} {frame})"

    def grouping_sets_suffix(self) -> str:
        return " SETTINGS group_by_use_nulls = 1"
