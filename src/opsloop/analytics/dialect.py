"""How each engine spells what differs: literals, time zones and buckets, JSON properties.

Every query is written once against `Dialect`; `DuckDbDialect` and `ClickHouseDialect` override
only what they spell differently. Outputs are cast to plain types (text labels, integers, doubles)
so both engines give equal Python values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from opsloop.errors import InvalidInput

Grain = Literal["hour", "day", "week", "month"]
PeriodGrain = Literal["day", "week", "month"]
EPOCH = date(1970, 1, 1)
WEEK_EPOCH = date(1970, 1, 5)  # a Monday: ISO weeks start on Mondays

_LABEL_FORMAT = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}


def check_property_name(name: str) -> str:
    if not name or '"' in name or "\\" in name or len(name) > 200:
        raise InvalidInput(f"invalid property name {name!r}", "property")
    return name


class Dialect:
    name = "base"

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

    def local_date(self, ts: str, tz: str) -> str:
        """The calendar day of `ts` in time zone `tz`, as a DATE."""
        raise NotImplementedError

    def bucket_label(self, grain: Grain, ts: str, tz: str) -> str:
        """The text label of the bucket (hour/day/ISO week start/month) holding `ts` in `tz`."""
        raise NotImplementedError

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        raise NotImplementedError

    def date_text(self, d: str) -> str:
        raise NotImplementedError

    # -- periods (retention, lifecycle) ----------------------------------------------------------

    def date_literal(self, value: date) -> str:
        raise NotImplementedError

    def period_start(self, grain: PeriodGrain, ts: str, tz: str) -> str:
        """The first local day (a DATE) of the day / ISO week / month holding `ts` in `tz`."""
        raise NotImplementedError

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

    # -- misc ------------------------------------------------------------------------------------

    def uuid_text(self, column: str) -> str:
        return f"CAST({column} AS VARCHAR)"

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

    def local_date(self, ts: str, tz: str) -> str:
        return f"CAST(timezone({self.string(tz)}, {ts}) AS DATE)"

    def bucket_label(self, grain: Grain, ts: str, tz: str) -> str:
        local = f"timezone({self.string(tz)}, {ts})"
        return f"strftime(date_trunc('{grain}', {local}), '{_LABEL_FORMAT[grain]}')"

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        return f"date_diff('{unit}', {start}, {end})"

    def date_text(self, d: str) -> str:
        return f"strftime({d}, '%Y-%m-%d')"

    def date_literal(self, value: date) -> str:
        return f"DATE {self.string(value.isoformat())}"

    def period_start(self, grain: PeriodGrain, ts: str, tz: str) -> str:
        local = f"timezone({self.string(tz)}, {ts})"
        if grain == "day":
            return f"CAST({local} AS DATE)"
        return f"CAST(date_trunc('{grain}', {local}) AS DATE)"

    def json_text(self, column: str, key: str) -> str:
        path = self.string('$."' + check_property_name(key) + '"')
        return f"json_extract_string({column}, {path})"

    def json_number(self, column: str, key: str) -> str:
        path = self.string('$."' + check_property_name(key) + '"')
        return (
            f"(CASE WHEN json_type({column}, {path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE')"
            f" THEN CAST(json_extract_string({column}, {path}) AS DOUBLE) END)"
        )


class ClickHouseDialect(Dialect):
    name = "clickhouse"

    def string(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def timestamp(self, value: datetime) -> str:
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"toDateTime64({self.string(text)}, 6, 'UTC')"

    def local_date(self, ts: str, tz: str) -> str:
        return f"toDate({ts}, {self.string(tz)})"

    def bucket_label(self, grain: Grain, ts: str, tz: str) -> str:
        z = self.string(tz)
        start = {
            "hour": f"toStartOfHour({ts}, {z})",
            "day": f"toDate({ts}, {z})",
            "week": f"toStartOfWeek({ts}, 1, {z})",
            "month": f"toStartOfMonth({ts}, {z})",
        }[grain]
        fmt = _LABEL_FORMAT[grain].replace("%M", "%i")
        return (
            f"formatDateTime({start}, '{fmt}', {z})"
            if grain == "hour"
            else (f"formatDateTime({start}, '{fmt}')")
        )

    def date_diff(self, unit: Literal["day", "week", "month"], start: str, end: str) -> str:
        return f"dateDiff('{unit}', {start}, {end})"

    def date_text(self, d: str) -> str:
        return f"formatDateTime({d}, '%Y-%m-%d')"

    def date_literal(self, value: date) -> str:
        return f"toDate({self.string(value.isoformat())})"

    def period_start(self, grain: PeriodGrain, ts: str, tz: str) -> str:
        z = self.string(tz)
        if grain == "week":
            return f"toStartOfWeek({ts}, 1, {z})"
        return f"toStartOfMonth({ts}, {z})" if grain == "month" else f"toDate({ts}, {z})"

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

    def lag(self, expr: str, window: str) -> str:
        frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        return f"lagInFrame(toNullable({expr})) OVER ({window} {frame})"

    def lead(self, expr: str, window: str) -> str:
        frame = "ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING"
        return f"leadInFrame(toNullable({expr})) OVER ({window} {frame})"

    def grouping_sets_suffix(self) -> str:
        return " SETTINGS group_by_use_nulls = 1"
