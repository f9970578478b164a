"""The acquisition spend table a workspace uploads (channel, date, spend, currency): parsing CSV
and JSON uploads with field-level errors, storing them (a row of the same channel and day
replaces the stored one), and reading them back for the `ad_spend` and `cac` metrics.

One currency per workspace: the first upload sets it (default CNY) and later rows in another
currency are refused, since spends in two currencies cannot be added without exchange rates.
Dates are local dates in the workspace's time zone, as the metrics' buckets are.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsloop.analytics.catalog.definitions import SpendRow, SpendTable
from opsloop.analytics.catalog.models import SpendEntry
from opsloop.audit import record
from opsloop.errors import InvalidInput

DEFAULT_CURRENCY = "CNY"
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_SPEND = 1e13
MAX_ROWS = 100_000
COLUMNS = ("channel", "date", "spend", "currency")


@dataclass(frozen=True, slots=True)
class SpendInput:
    channel: str
    day: date
    spend: float
    currency: str


@dataclass(frozen=True, slots=True)
class SpendImport:
    """rows = inserted + updated + unchanged (rows of one channel and day counted once)."""

    rows: int
    inserted: int
    updated: int
    unchanged: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "currency": self.currency,
        }


def _row(item: Any, at: str, default_currency: str) -> SpendInput:
    if not isinstance(item, dict):
        raise InvalidInput(f"{at}: a row is an object with channel, date, spend", at)
    extra = sorted(set(item) - set(COLUMNS))
    if extra:
        raise InvalidInput(f"{at}.{extra[0]}: unknown column", f"{at}.{extra[0]}")
    channel = item.get("channel")
    if not isinstance(channel, str) or not channel.strip() or len(channel.strip()) > 200:
        raise InvalidInput(f"{at}.channel: a channel name (1 to 200 characters)", f"{at}.channel")
    raw_day = item.get("date")
    try:
        day = date.fromisoformat(raw_day) if isinstance(raw_day, str) else None
    except ValueError:
        day = None
    if day is None or not isinstance(raw_day, str) or len(raw_day) != 10:
        raise InvalidInput(f"{at}.date: a date as YYYY-MM-DD", f"{at}.date")
    spend = item.get("spend")
    if isinstance(spend, str):
        try:
            spend = float(spend.strip().replace(",", ""))
        except ValueError:
            spend = None
    if (
        not isinstance(spend, int | float)
        or isinstance(spend, bool)
        or not math.isfinite(spend)
        or not 0 <= spend <= MAX_SPEND
    ):
        raise InvalidInput(f"{at}.spend: a number from 0 to {MAX_SPEND:.0e}", f"{at}.spend")
    currency = item.get("currency") or default_currency
    if not isinstance(currency, str) or not CURRENCY.match(currency.strip().upper()):
        raise InvalidInput(f"{at}.currency: a 3-letter ISO 4217 code", f"{at}.currency")
    return SpendInput(channel.strip(), day, float(spend), currency.strip().upper())


def parse_spend_json(body: bytes, default_currency: str = DEFAULT_CURRENCY) -> list[SpendInput]:
    """`[{"channel", "date", "spend", "currency"?}, ...]` or `{"rows": [...]}`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc}", "body") from None
    items = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidInput('send a list of rows, or {"rows": [...]}', "rows")
    return check_rows([_row(item, f"rows[{i}]", default_currency) for i, item in enumerate(items)])


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A CSV line that does not read as a spend row: its line number, field and reason."""

    line: int
    field: str
    message: str


def check_spend_csv(
    text: str, default_currency: str = DEFAULT_CURRENCY
) -> tuple[list[SpendInput], list[RefusedRow]]:
    """The CSV's good rows and every refused line (not only the first), so that a person can
    fix them all at once. The header must name channel, date and spend."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise InvalidInput(f"the CSV header lacks {', '.join(missing)}", missing[0])
    rows, refused = [], []
    for i, raw in enumerate(reader):
        item = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        extra = raw.get(None) or []
        if any(str(v).strip() for v in extra):
            refused.append(RefusedRow(i + 2, "columns", "more cells than the header names"))
            continue
        if not any(item.values()):
            continue  # blank line
        item = {k: v for k, v in item.items() if k in COLUMNS and (v or k != "currency")}
        try:
            rows.append(_row(item, f"line {i + 2}", default_currency))
        except InvalidInput as exc:
            field = (exc.field or "").rpartition(".")[2]
            refused.append(RefusedRow(i + 2, field, exc.message.partition(": ")[2]))
    return rows, refused


def parse_spend_csv(text: str, default_currency: str = DEFAULT_CURRENCY) -> list[SpendInput]:
    """A header with channel, date, spend (and optionally currency), then a row per day; the
    first refused line is the error."""
    rows, refused = check_spend_csv(text, default_currency)
    if refused:
        first = refused[0]
        where = f"line {first.line}.{first.field}"
        raise InvalidInput(f"{where}: {first.message}", where)
    return check_rows(rows)


def check_rows(rows: list[SpendInput]) -> list[SpendInput]:
    if not rows:
        raise InvalidInput("the upload has no rows", "rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"at most {MAX_ROWS} rows per upload", "rows")
    currencies = sorted({r.currency for r in rows})
    if len(currencies) > 1:
        raise InvalidInput(f"one currency per upload, not {', '.join(currencies)}", "currency")
    return rows


def workspace_currency(session: Session, workspace_id: int) -> str | None:
    return session.scalar(
        select(SpendEntry.currency).where(SpendEntry.workspace_id == workspace_id).limit(1)
    )


def import_spend(session: Session, workspace_id: int, rows: Iterable[SpendInput]) -> SpendImport:
    """Store the rows; the last row of a channel and day in the upload wins."""
    latest = {(r.channel, r.day): r for r in rows}
    if not latest:
        raise InvalidInput("the upload has no rows", "rows")
    currency = next(iter(latest.values())).currency
    stored = workspace_currency(session, workspace_id)
    if stored is not None and stored != currency:
        raise InvalidInput(
            f"the workspace's spend is in {stored}; this upload is in {currency}", "currency"
        )
    existing = {
        (e.channel, e.day): e
        for e in session.scalars(
            select(SpendEntry).where(
                SpendEntry.workspace_id == workspace_id,
                SpendEntry.day >= min(d for _, d in latest),
                SpendEntry.day <= max(d for _, d in latest),
            )
        )
    }
    inserted = updated = unchanged = 0
    for key, row in latest.items():
        entry = existing.get(key)
        if entry is None:
            session.add(
                SpendEntry(
                    workspace_id=workspace_id,
                    channel=row.channel,
                    day=row.day,
                    spend=row.spend,
                    currency=row.currency,
                )
            )
            inserted += 1
        elif entry.spend != row.spend:
            entry.spend = row.spend
            updated += 1
        else:
            unchanged += 1
    session.flush()
    result = SpendImport(len(latest), inserted, updated, unchanged, currency)
    days = [d for _, d in latest]
    summary = {**result.to_dict(), "date_from": min(days), "date_to": max(days)}
    record(
        session,
        "spend.imported",
        workspace_id=workspace_id,
        entity_type="spend",
        after=summary,
    )
    return result


def spend_rows(
    session: Session,
    workspace_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    channel: str | None = None,
) -> list[SpendRow]:
    query = select(SpendEntry).where(SpendEntry.workspace_id == workspace_id)
    if date_from is not None:
        query = query.where(SpendEntry.day >= date_from)
    if date_to is not None:
        query = query.where(SpendEntry.day <= date_to)
    if channel is not None:
        query = query.where(SpendEntry.channel == channel)
    entries = session.scalars(query.order_by(SpendEntry.day, SpendEntry.channel))
    return [SpendRow(e.channel, e.day, e.spend) for e in entries]


def delete_spend(
    session: Session,
    workspace_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    channel: str | None = None,
) -> int:
    query = delete(SpendEntry).where(SpendEntry.workspace_id == workspace_id)
    if date_from is not None:
        query = query.where(SpendEntry.day >= date_from)
    if date_to is not None:
        query = query.where(SpendEntry.day <= date_to)
    if channel is not None:
        query = query.where(SpendEntry.channel == channel)
    result = session.execute(query)
    session.flush()
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        where = {"date_from": date_from, "date_to": date_to, "channel": channel}
        record(
            session,
            "spend.deleted",
            workspace_id=workspace_id,
            entity_type="spend",
            before={**where, "rows": deleted},
        )
    return deleted


def spend_version(session: Session, workspace_id: int) -> str:
    """Changes whenever a spend row is added, changed or deleted."""
    n, last_id, last_update, total = session.execute(
        select(
            func.count(),
            func.max(SpendEntry.id),
            func.max(SpendEntry.updated_at),
            func.sum(SpendEntry.spend),
        ).where(SpendEntry.workspace_id == workspace_id)
    ).one()
    return f"spend\x00{n}\x00{last_id}\x00{last_update}\x00{total!r}"


def spend_table(session: Session, workspace_id: int) -> SpendTable | None:
    """The workspace's spend rows as a metrics query reads them (None when it has none)."""
    currency = workspace_currency(session, workspace_id)
    if currency is None:
        return None

    def rows(date_from: date, date_to: date) -> list[SpendRow]:
        return spend_rows(session, workspace_id, date_from, date_to)

    return SpendTable(currency, rows)
