"""Numbers, money, shares, durations and time buckets in the reader's language (Babel), for
tables, KPIs and chart tooltips alike.

Chinese groups large numbers by 万 (10⁴) and 亿 (10⁸) where the product shows compact figures;
English uses thousands separators and K / M / B. A value that is unknown (None) shows as a dash.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_skeleton
from babel.numbers import format_compact_currency, format_currency, format_decimal, format_percent
from babel.units import format_unit

from opsloop.web.i18n import N_, babel_locale, format_compact, format_day, translate

DASH = "–"
MINUS = "−"  # U+2212, the minus sign typographers use before a number
CURRENCY = "CNY"
COMPACT_FROM = 10_000
# (seconds in the unit, CLDR unit name), largest first.
DURATION_UNITS = (
    (86_400, "duration-day"),
    (3_600, "duration-hour"),
    (60, "duration-minute"),
    (1, "duration-second"),
)
MSG_WEEK_OF = N_("Week of %(day)s")


def number(value: float | None, language: str, digits: int | None = None) -> str:
    """1,234,567 / 1,234.5; `digits` fixes the decimals shown (rounded)."""
    if value is None:
        return DASH
    if digits is None:
        return format_decimal(value, locale=babel_locale(language))
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(language))


def compact(value: float | None, language: str) -> str:
    """12.3万 / 1.2亿 in Chinese, 12.3K / 1.2M in English; exact below 10,000."""
    if value is None:
        return DASH
    return format_compact(value, language)


def percent(value: float | None, language: str, digits: int = 1) -> str:
    """A share (0.1234) as 12.3%."""
    if value is None:
        return DASH
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=babel_locale(language))


def change(value: float | None, language: str, digits: int = 1) -> str:
    """A relative change (0.05, -0.123) as +5.0% / −12.3%; zero has no sign."""
    if value is None:
        return DASH
    text = percent(abs(value), language, digits)
    if round(abs(value) * 100, digits) == 0:
        return text
    return ("+" if value > 0 else MINUS) + text


def money(value: float | None, language: str, *, currency: str = CURRENCY) -> str:
    """¥12,345.50 / CN¥12,345.50; compact from 10,000: ¥123.5万 / CN¥1.2M."""
    if value is None:
        return DASH
    locale = babel_locale(language)
    if abs(value) >= COMPACT_FROM:
        return format_compact_currency(value, currency, locale=locale, fraction_digits=1)
    return format_currency(value, currency, locale=locale)


def duration(seconds: float | None, language: str) -> str:
    """A duration by its two largest units: 2小时5分钟 / 2h 5m; below a second: 0.4秒 / 0.4s."""
    if seconds is None:
        return DASH
    locale = babel_locale(language)
    if abs(seconds) < 1:
        return format_unit(round(seconds, 1), "duration-second", length="narrow", locale=locale)
    left = round(abs(seconds))
    parts: list[str] = []
    for size, unit in DURATION_UNITS:
        if left >= size or (not parts and size == 1):
            amount, left = divmod(left, size)
            parts.append(format_unit(amount, unit, length="narrow", locale=locale))
        elif parts:
            break  # only adjacent units: "2h 5m", never "2d 5s"
        if len(parts) == 2:
            break
    sign = MINUS if seconds < 0 else ""
    return sign + ("" if language == "zh-CN" else " ").join(parts)


def bucket(label: str, interval: str, language: str) -> str:
    """A time bucket as the engine labels it (2026-11-01, 2026-11-01 13:00, 2026-11) shown
    for the reader: 11月1日, 11月1日 13:00, 2026年11月; a week by its Monday."""
    locale = babel_locale(language)
    if interval == "hour":
        moment = datetime.fromisoformat(label)
        return f"{format_day(moment.date(), language)} {moment:%H:%M}"
    if interval == "month":
        return format_skeleton("yMMM", date.fromisoformat(label + "-01"), locale=locale)
    day = format_day(date.fromisoformat(label[:10]), language)
    if interval == "week":
        return translate(language, MSG_WEEK_OF) % {"day": day}
    return day
