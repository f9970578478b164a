"""The console's languages: Babel catalogs read from the .po files, and locale-aware formatting.

The .po files in `opsloop/locale/` are the source of truth: they are compiled in memory when first
needed, so there is no build step and no .mo file to forget. `python -m opsloop.web.i18n` adds the
message ids found in the code and templates to both catalogs (English filled in, Chinese left empty
for a translator); a test fails while any id is missing or untranslated.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_interval, format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_compact_decimal, format_decimal
from babel.support import Translations

PACKAGE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = PACKAGE_DIR / "locale"
# Console language (as in <html lang> and ?lang=) → Babel locale of its catalog.
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_NAMES = {"zh-CN": "简体中文", "en": "English"}
# Where user-facing strings live, and how Babel reads them.
EXTRACT_METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
EXTRACT_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def normalize_language(value: str | None) -> str | None:
    """A supported console language for `value` ("en", "en-US", "zh", "zh_CN", ...), or None."""
    if not value:
        return None
    key = value.strip().replace("_", "-").lower()
    if key.startswith("zh"):
        return "zh-CN"
    if key.startswith("en"):
        return "en"
    return None


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / LANGUAGES[language] / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as f:
        return read_po(f, locale=LANGUAGES[language])


@cache
def translations(language: str) -> Translations:
    """The compiled translations of one language (fuzzy entries are left out, as msgfmt does)."""
    buf = io.BytesIO()
    write_mo(buf, read_catalog(language))
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def translate(language: str, message: str) -> str:
    """One message id in a console language (for text outside templates: file and sheet names)."""
    return translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext(message)


@cache
def babel_locale(language: str) -> Locale:
    return Locale.parse(LANGUAGES[language])


def format_number(value: float, language: str) -> str:
    return format_decimal(value, locale=babel_locale(language))


def format_compact(value: float, language: str) -> str:
    """For KPIs: 12.3万 and 1.2亿 in Chinese, 123.5K and 1.2M in English; exact below 10,000."""
    if abs(value) < 10_000:
        return format_number(value, language)
    return format_compact_decimal(value, locale=babel_locale(language), fraction_digits=1)


def format_time(value: datetime, language: str, timezone: str, fmt: str = "medium") -> str:
    return format_datetime(value, fmt, tzinfo=ZoneInfo(timezone), locale=babel_locale(language))


def format_day(value: date, language: str) -> str:
    return format_skeleton("MMMd", value, locale=babel_locale(language))


def format_date(value: date, language: str) -> str:
    """A day with its year: 2026年11月1日 / Nov 1, 2026."""
    return format_skeleton("yMMMd", value, locale=babel_locale(language))


def format_day_range(first: date, last: date, language: str) -> str:
    """Days from first to last, both included: 2026年10月30日 – 11月28日 / Oct 30 – Nov 28, 2026."""
    return format_interval(first, last, "yMMMd", locale=babel_locale(language))


def extract_messages(root: Path = PACKAGE_DIR) -> dict[str, tuple[str, str] | None]:
    """Every message id in the package's templates and Python code.

    Maps a singular id to None, or to its (singular, plural) pair when used with ngettext.
    """
    found: dict[str, tuple[str, str] | None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), EXTRACT_METHODS, options_map=EXTRACT_OPTIONS
    ):
        if isinstance(message, tuple | list):
            found[message[0]] = (message[0], message[1])
        else:
            found.setdefault(message, None)
    return found


def update_catalogs(languages: Iterable[str] = LANGUAGES) -> dict[str, int]:
    """Add missing ids to each catalog (English gets the id as its text); returns counts added."""
    messages = extract_messages()
    added: dict[str, int] = {}
    for language in languages:
        catalog = read_catalog(language)
        count = 0
        for msgid, plural in sorted(messages.items()):
            if msgid in catalog:
                continue
            english = language == "en"
            if plural is None:
                catalog.add(msgid, msgid if english else "")
            else:
                catalog.add(plural, plural if english else ("", ""))
            count += 1
        if count:
            with catalog_path(language).open("wb") as f:
                write_po(f, catalog, width=100)
        added[language] = count
    return added


if __name__ == "__main__":
    for lang, count in update_catalogs().items():
        print(f"{lang}: {count} message ids added")
