"""Answers of `opsloop query` as tables and as CSV, for any kind: lists of flat dicts, with lists
and dicts inside cells; a column of lists of dicts (funnel steps) unrolled to a row per item;
dated lines (`dates` + `values`) pivoted to a column per date, or in CSV to a row per date."""

from __future__ import annotations

import csv
import json
import re
import sys
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from opsloop.cli.common import out_console
from opsloop.cli.query_readable import Shown, readable

Row = dict[str, Any]

MAX_CELL_CHARS = 60
MAX_LIST_ITEMS = 12
MAX_HEADER_CELLS = 16
YEAR = re.compile(r"[0-9]{4}-")
# A dated line's label already says its series, event and math.
IMPLIED_BY_LABEL = ("series", "event", "math", "compare")
LANGUAGES = ("zh-CN", "en")


def _is_dict_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rows(value: Any) -> list[Row]:
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, dict) else {"value": v} for v in items]


def _columns(rows: list[Row]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def unroll_items(rows: list[Row]) -> list[Row]:
    """One row per item of the first column that holds lists of dicts in every row (funnel
    steps), after the row's other columns; an item's field named like one of those is
    prefixed with the column's name (`steps.event`)."""
    key = next((k for k in _columns(rows) if all(_is_dict_list(r.get(k)) for r in rows)), None)
    if not rows or key is None:
        return rows
    out: list[Row] = []
    for row in rows:
        base = {k: v for k, v in row.items() if k != key}
        for item in row[key]:
            out.append({**base, **{(f"{key}.{k}" if k in base else k): v for k, v in item.items()}})
    return out


def _is_line(row: Row) -> bool:
    dates, values = row.get("dates"), row.get("values")
    return isinstance(dates, list) and isinstance(values, list) and len(dates) == len(values)


def _per_date(row: Row, key: str) -> bool:
    """A list of numbers beside a line's values, one per date (a comparison's values, the
    change): spread over the line's rows like the values."""
    value = row.get(key)
    return (
        key not in ("dates", "values")
        and isinstance(value, list)
        and len(value) == len(row["dates"])
        and all(v is None or _is_number(v) for v in value)
    )


def lines_by_date(rows: list[Row]) -> list[Row]:
    """Each dated line as a row per date (CSV): its other columns, then `date` and `value`
    (and one value of each other per-date list: `previous_values` gives `previous_value`)."""
    out: list[Row] = []
    for row in rows:
        if not _is_line(row):
            out.append(row)
            continue
        spread = [k for k in row if _per_date(row, k)]
        base = {k: v for k, v in row.items() if k not in ("dates", "values", *spread)}
        for i, (d, v) in enumerate(zip(row["dates"], row["values"], strict=True)):
            extra = {k.removesuffix("s") if k.endswith("_values") else k: row[k][i] for k in spread}
            out.append({**base, "date": d, "value": v, **extra})
    return out


def lines_as_columns(rows: list[Row], width: int) -> tuple[list[Row], str | None]:
    """Dated lines with a column per date (table): as many of the latest dates as fit `width`,
    headed without their year when they share one."""
    if not rows or not all(_is_line(r) for r in rows):
        return rows, None
    dates = _columns([dict.fromkeys(r["dates"]) for r in rows])
    years = {str(d)[:5] for d in dates}
    year = next(iter(years))[:4] if len(years) == 1 and YEAR.match(str(dates[0])) else None
    header = {d: str(d)[5:] if year else str(d) for d in dates}
    out = []
    for row in rows:
        hidden = ("dates", "values", *(IMPLIED_BY_LABEL if "label" in row else ()))
        base = {k: v for k, v in row.items() if k not in hidden}
        cells = {header[d]: v for d, v in zip(row["dates"], row["values"], strict=True)}
        out.append({**base, **cells})
    columns = [header[d] for d in dates]
    fixed = sum(_width(out, c) for c in _columns(out) if c not in columns)
    keep = max(1, (width - fixed) // max(_width(out, c) for c in columns))
    notes = [f"dates in {year}"] if year else []
    if keep < len(columns):
        for row in out:
            for column in columns[:-keep]:
                row.pop(column, None)
        notes.append(f"the last {keep} of {len(dates)} dates (--csv or --json give them all)")
    return out, "; ".join(notes) or None


def _width(rows: list[Row], column: str) -> int:
    """Terminal cells a column takes (CJK characters take two), with its padding and rule."""
    return max(cell_len(column), *(cell_len(cell_text(r.get(column))) for r in rows)) + 3


# -- tables -----------------------------------------------------------------------------------


def plain_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Shown):
        return value.text()
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        text = ", ".join(plain_text(v) for v in value[:MAX_LIST_ITEMS])
        if len(value) > MAX_LIST_ITEMS:
            text += f", … (+{len(value) - MAX_LIST_ITEMS})"
        return f"[{text}]"
    if value == {}:
        return ""
    if isinstance(value, dict) and set(value) == set(LANGUAGES):
        texts = dict.fromkeys(plain_text(value[lang]) for lang in LANGUAGES)
        return " / ".join(texts)  # 日活（DAU） / DAU
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {plain_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def cell_text(value: Any) -> str:
    text = plain_text(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _table(title: str, rows: list[Row]) -> Table:
    columns = [c for c in _columns(rows) if any(r.get(c) is not None for r in rows)]
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        values = [r.get(column) for r in rows if r.get(column) is not None]
        numeric = all(_is_number(v) for v in values)
        table.add_column(
            column,
            justify="right" if numeric else "left",
            overflow="fold",
            min_width=min(cell_len(column), MAX_HEADER_CELLS),
        )
    for row in rows:
        table.add_row(*(Text(cell_text(row.get(c))) for c in columns))
    return table


def print_table(answer: dict[str, Any]) -> None:
    """A line of the answer's plain fields, then its results and other lists as tables."""
    sections = {
        k: v
        for k, v in answer.items()
        if k == "results" or (isinstance(v, list) and bool(v) and _is_dict_list(v))
    }
    plain = "  ".join(
        f"{k}: {plain_text(v)}" for k, v in answer.items() if k not in sections and v is not None
    )
    out_console.print(Text(plain, style="dim"))
    for name, value in sections.items():
        rows, spread = readable(answer, name, unroll_items(_rows(value)))
        rows, note = lines_as_columns(rows, out_console.width)
        note = "; ".join(n for n in (spread, note) if n) or None
        if not rows:
            out_console.print(Text(f"{name}: none"))
            continue
        out_console.print(_table(name, rows))
        if note:
            out_console.print(Text(note, style="dim"))


# -- CSV --------------------------------------------------------------------------------------


def _spread_lists(rows: list[Row]) -> list[Row]:
    """A column holding lists of numbers (or nulls) of one length in every row becomes a column
    per position (`values_0`, `values_1`, ...: a retention row's periods); other lists stay
    JSON."""
    for key in _columns(rows):
        cells = [r.get(key) for r in rows]
        lists = [c for c in cells if isinstance(c, list)]
        if len(lists) < len(cells) or len({len(c) for c in lists}) != 1 or not lists[0]:
            continue
        if not all(v is None or _is_number(v) for c in lists for v in c):
            continue
        for row in rows:
            items = row.pop(key)
            row.update({f"{key}_{i}": v for i, v in enumerate(items)})
    return rows


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def csv_rows(answer: dict[str, Any]) -> list[Row]:
    """The results (an answer without results: every list of dicts, named in `section`)."""
    if "results" in answer:
        rows = _rows(answer["results"])
    else:
        rows = [
            {"section": k, **r} for k, v in answer.items() if _is_dict_list(v) for r in _rows(v)
        ]
    return _spread_lists([dict(r) for r in lines_by_date(unroll_items(rows))])


def print_csv(answer: dict[str, Any]) -> None:
    rows = csv_rows(answer)
    columns = _columns(rows)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
