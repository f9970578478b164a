"""What `opsloop query`'s tables show of an answer, read the way the console shows it: a rate
as a percentage, a duration in minutes and seconds, a catalog metric at its own decimals, a
retention row as a rate per period; prose, repeated labels and person ids are left to --json
(and --csv, which keeps every field as answered)."""

from __future__ import annotations

import re
from typing import Any

Row = dict[str, Any]

# Prose (a catalog metric's description) is for --json; a table keeps to names and numbers.
PROSE_COLUMNS = ("description",)
# A metrics answer's values, per date and in total, given at their metric's decimals.
LINE_NUMBERS = ("values", "total", "previous_values", "previous_total")
# Shares of 1 (conversion_from_start, repurchase_rate, a metric's change).
CHANGES = ("change", "total_change")
PERCENT_DECIMALS = 2
# An ISO 8601 time with its fraction of a second: 2026-11-14T16:49:20.168267+08:00.
ISO_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(.*)")
# Columns a table leaves to --json when the one beside it says the same for a reader.
GIVES_WAY = {"person_id": "distinct_id", "uuid": "event", "timestamp": "local_time"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fixed(float):
    """With a set count of decimals (money's 2: 8,219.20), or as a percentage with them (0.13274
    at 2: 13.27%; `signed` for a change: +13.27%)."""

    decimals: int
    percent: bool
    signed: bool

    def __new__(
        cls, value: float, decimals: int, percent: bool = False, signed: bool = False
    ) -> Fixed:
        made = super().__new__(cls, value)
        made.decimals, made.percent, made.signed = decimals, percent, signed
        return made

    def text(self) -> str:
        sign = "+" if self.signed and self > 0 else ""
        if self.percent:
            return f"{sign}{self * 100:,.{self.decimals}f}%"
        return f"{sign}{self:,.{self.decimals}f}"


class Duration(float):
    """Seconds as 42s, 1m 16s, 2h 5m or 3d 4h (the two largest units)."""

    def text(self) -> str:
        if self < 10:
            return f"{float(self):.1f}s"
        seconds = round(self)
        parts: list[str] = []
        for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
            if seconds >= size or (unit == "s" and not parts):
                parts.append(f"{seconds // size}{unit}")
                seconds %= size
        return " ".join(parts[:2])


# Numbers that know how they are read; still numbers (right-aligned, compared as such).
Shown = Fixed | Duration


def _map(value: Any, make: Any) -> Any:
    if isinstance(value, list):
        return [_map(v, make) for v in value]
    return make(value) if _is_number(value) else value


def _is_rate(column: str) -> bool:
    return column.startswith("conversion") or column.endswith("_rate") or column == "rate"


def _is_duration(column: str) -> bool:
    return column.endswith("_seconds") or column.startswith("seconds_") or "_seconds_" in column


def _metric_decimals(answer: dict[str, Any], rows: list[Row]) -> list[Row]:
    """Results of catalog metrics at each metric's decimals, a percent metric as a percentage
    (from the answer's `metrics`); a label that only repeats the key and parameters that are all
    empty are left out."""
    shown = {
        m["key"]: (m["decimals"], m.get("format") == "percent")
        for m in answer.get("metrics") or []
        if isinstance(m, dict) and isinstance(m.get("decimals"), int) and "key" in m
    }
    out = []
    for row in rows:
        how = shown.get(str(row.get("metric")))
        if how is None:
            out.append(row)
            continue
        decimals, percent = how
        out.append(
            {
                k: _map(v, lambda x, d=decimals, p=percent: Fixed(x, d, p))
                if k in LINE_NUMBERS
                else v
                for k, v in row.items()
            }
        )
    if shown and all(r.get("label") == r.get("metric") for r in out):
        out = [{k: v for k, v in r.items() if k != "label"} for r in out]
    if shown and all(not r.get("params") for r in out):
        out = [{k: v for k, v in r.items() if k != "params"} for r in out]
    return out


def _cells(row: Row) -> Row:
    out = {}
    for k, v in row.items():
        if _is_rate(k):
            v = _map(v, lambda x: Fixed(x, PERCENT_DECIMALS, percent=True))
        elif k in CHANGES:
            v = _map(v, lambda x: Fixed(x, PERCENT_DECIMALS, percent=True, signed=True))
        elif _is_duration(k):
            v = _map(v, Duration)
        elif k == "local_time" and isinstance(v, str) and (m := ISO_TIME.fullmatch(v)):
            v = f"{m[1]} {m[2]} {m[4]}".rstrip()  # to the second, with the zone's offset
        out[k] = v
    return out


def _rates_by_period(answer: dict[str, Any], rows: list[Row]) -> tuple[list[Row], str | None]:
    """Rows with a list of `rates` (retention: one per period since the cohort's start) get a
    column per period with the rate as a percentage, instead of the lists of counts and rates."""
    lists = [r.get("rates") for r in rows]
    if not rows or not all(isinstance(x, list) and x for x in lists):
        return rows, None
    period = str(answer.get("period") or "period")
    width = max(len(x) for x in lists)  # type: ignore[arg-type]
    out = []
    for row in rows:
        base = {k: v for k, v in row.items() if k not in ("values", "sizes", "rates")}
        rates = row["rates"]
        cells = {
            f"{period} {i}": Fixed(r, 1, percent=True) if _is_number(r) else None
            for i, r in enumerate(rates)
        }
        out.append({**base, **cells, **{f"{period} {i}": None for i in range(len(rates), width)}})
    return out, f"the share of each cohort back in each {period}; --csv gives the counts"


def readable(answer: dict[str, Any], name: str, rows: list[Row]) -> tuple[list[Row], str | None]:
    """`rows` of the answer's section `name` as the table shows them, and a note on what was
    folded (None: nothing)."""
    hidden = set(PROSE_COLUMNS)
    hidden.update(k for k, instead in GIVES_WAY.items() if rows and all(instead in r for r in rows))
    rows = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
    if name == "results":
        rows = _metric_decimals(answer, rows)
    rows, note = _rates_by_period(answer, rows)
    return [_cells(r) for r in rows], note
