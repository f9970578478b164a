"""Both catalogs are complete: every message id in the templates and the code has a translation."""

from __future__ import annotations

from babel.messages.catalog import Message

from opsloop.accounts.service import DEFAULT_LANGUAGE as ACCOUNTS_DEFAULT
from opsloop.accounts.service import LANGUAGES as ACCOUNT_LANGUAGES
from opsloop.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    extract_messages,
    normalize_language,
    read_catalog,
    translations,
)


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(strings)


def _msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_every_message_id_is_translated_in_both_catalogs() -> None:
    ids = extract_messages()
    # The pages do have strings to translate (guards against an extractor finding nothing).
    assert {"Live events", "Setup", "Sign in", "Wrong email or password."} <= set(ids)
    for language in LANGUAGES:
        catalog = read_catalog(language)
        missing = sorted(i for i in ids if i not in catalog)
        untranslated = sorted(i for i in ids if i in catalog and not _translated(catalog[i]))
        unused = sorted(_msgid(m) for m in catalog if m.id and _msgid(m) not in ids)
        assert (language, missing, untranslated, unused) == (language, [], [], [])


def test_plural_ids_are_plural_in_the_catalogs() -> None:
    plurals = {i: p for i, p in extract_messages().items() if p is not None}
    assert plurals
    for language in LANGUAGES:
        catalog = read_catalog(language)
        for msgid, pair in plurals.items():
            assert catalog[msgid].id == pair


def test_translations_are_what_the_catalogs_say() -> None:
    zh, en = translations("zh-CN"), translations("en")
    assert (zh.gettext("Live events"), en.gettext("Live events")) == ("实时数据", "Live events")
    assert zh.gettext("Setup") == "接入"
    assert (
        zh.ngettext(
            "Too many failed sign-ins. Try again in %(num)d minute.",
            "Too many failed sign-ins. Try again in %(num)d minutes.",
            3,
        )
        == "登录失败次数过多，请 %(num)d 分钟后再试。"
    )


def test_language_names_are_understood() -> None:
    cases = {
        "en": "en",
        "en-US": "en",
        "EN_gb": "en",
        "zh": "zh-CN",
        "zh-CN": "zh-CN",
        "zh_Hans_CN": "zh-CN",
        "fr": None,
        "": None,
        None: None,
    }
    assert {k: normalize_language(k) for k in cases} == cases
    assert set(LANGUAGES) == set(ACCOUNT_LANGUAGES)
    assert DEFAULT_LANGUAGE == ACCOUNTS_DEFAULT == "zh-CN"
