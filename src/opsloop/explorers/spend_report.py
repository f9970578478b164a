"""What the spend page shows beside the table: the page's filter (channel, dates), the upload's
report (rows read, stored, replaced, unchanged, or every refused line with its reason in the
reader's language), the per-channel summary, and the upload's problems as messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from opsloop.analytics.catalog.definitions import SpendRow
from opsloop.analytics.catalog.spend import RefusedRow, SpendImport, SpendInput
from opsloop.errors import InvalidInput, OpsLoopError
from opsloop.web.forms import Problem
from opsloop.web.i18n import N_, translate

SHOWN_REFUSALS = 200  # refused lines listed (the count says how many in all)
REASONS = {
    "channel": N_("a channel name of 1 to 200 characters"),
    "date": N_("a date as YYYY-MM-DD"),
    "spend": N_("a number from 0 to 10 trillion"),
    "currency": N_("a three-letter currency code (ISO 4217, such as CNY)"),
    "columns": N_("more cells than the header names"),
}
MSG_BAD_DAY = N_("Enter dates as YYYY-MM-DD.")
MSG_HEADER = N_(
    "The file's first line must name the columns channel, date and spend (currency is optional)."
)
MSG_EMPTY = N_("The file has no rows.")
MSG_TOO_MANY = N_("At most %(n)s rows per file.")
MSG_TOO_LARGE = N_("The file is larger than %(mb)s MB.")
MSG_NOT_UTF8 = N_("The file is not UTF-8 text: save it as “CSV UTF-8”.")
MSG_ONE_CURRENCY = N_("One currency per file: the file's rows name several.")
MSG_OTHER_CURRENCY = N_(
    "The workspace's spend is in %(stored)s; this file's is in %(currency)s. Spends in two "
    "currencies cannot be added up."
)
MSG_NO_FILE = N_("Choose a CSV file or paste its text.")


@dataclass(frozen=True, slots=True)
class UploadReport:
    filename: str
    read: int = 0  # rows read (blank lines not counted)
    refused: list[RefusedRow] = field(default_factory=list)
    stored: SpendImport | None = None
    first: date | None = None
    last: date | None = None

    @property
    def shown_refusals(self) -> list[RefusedRow]:
        return self.refused[:SHOWN_REFUSALS]

    def with_days(self, rows: Sequence[SpendInput]) -> UploadReport:
        days = [r.day for r in rows]
        return replace(self, first=min(days), last=max(days)) if days else self


def reason(row: RefusedRow, language: str) -> str:
    """A refused line's reason in the reader's language (what the field must be)."""
    message = REASONS.get(row.field)
    return translate(language, message) if message else row.message


@dataclass(frozen=True, slots=True)
class SpendFilter:
    channel: str | None = None
    first: date | None = None
    last: date | None = None
    raw: tuple[str, str] = ("", "")  # the dates as typed
    bad_field: str | None = None  # "from" or "to" when it is not a date

    @classmethod
    def read(cls, channel: str | None, day_from: str | None, day_to: str | None) -> SpendFilter:
        raw = ((day_from or "").strip(), (day_to or "").strip())
        days: list[date | None] = []
        bad = None
        for name, text in zip(("from", "to"), raw, strict=True):
            try:
                days.append(date.fromisoformat(text) if text else None)
            except ValueError:
                days.append(None)
                bad = bad or name
        return cls((channel or "").strip() or None, days[0], days[1], raw, bad)

    @property
    def valid(self) -> bool:
        return self.bad_field is None

    def problem(self, language: str) -> Problem | None:
        if self.valid:
            return None
        return Problem(translate(language, MSG_BAD_DAY), self.bad_field)

    def params(self) -> dict[str, str]:
        out = {"channel": self.channel or "", "from": self.raw[0], "to": self.raw[1]}
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True, slots=True)
class ChannelTotal:
    channel: str
    days: int
    first: date
    last: date
    total: float


def channel_summary(rows: Sequence[SpendRow]) -> list[ChannelTotal]:
    """Per channel: days with spend rows, first and last day, total spend; biggest first."""
    by: dict[str, list[SpendRow]] = {}
    for r in rows:
        by.setdefault(r.channel, []).append(r)
    out = [
        ChannelTotal(
            channel,
            len(items),
            min(r.day for r in items),
            max(r.day for r in items),
            sum(r.spend for r in items),
        )
        for channel, items in by.items()
    ]
    return sorted(out, key=lambda c: (-c.total, c.channel))


def check_upload(data: bytes, max_bytes: int) -> str:
    """The upload as text, or InvalidInput (field `file`) when it is missing, too large or not
    UTF-8."""
    if not data.strip():
        raise InvalidInput("choose a file or paste its text", "file")
    if len(data) > max_bytes:
        raise InvalidInput(f"the file is larger than {max_bytes} bytes", "file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 text", "file") from None


def spend_problem(exc: OpsLoopError, language: str, max_rows: int, max_mb: int) -> Problem:
    """An upload's problem in the reader's language, naming the field it is about."""
    text = exc.message
    if exc.field in ("channel", "date", "spend") and "header" in text:
        message = translate(language, MSG_HEADER)
    elif exc.field == "file":
        if "larger" in text:
            message = translate(language, MSG_TOO_LARGE) % {"mb": max_mb}
        elif "UTF-8" in text:
            message = translate(language, MSG_NOT_UTF8)
        else:
            message = translate(language, MSG_NO_FILE)
    elif exc.field == "rows":
        if "at most" in text:
            message = translate(language, MSG_TOO_MANY) % {"n": f"{max_rows:,}"}
        else:
            message = translate(language, MSG_EMPTY)
    elif exc.field == "currency" and "one currency" in text:
        message = translate(language, MSG_ONE_CURRENCY)
    else:
        message = text
    return Problem(message, exc.field)


def other_currency(language: str, stored: str, currency: str) -> Problem:
    text = translate(language, MSG_OTHER_CURRENCY) % {"stored": stored, "currency": currency}
    return Problem(text, "currency")
