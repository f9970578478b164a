"""Timestamps as clients send them: epoch seconds or milliseconds (numbers or ASCII digits as
text), ISO 8601; anything else is refused with the field named, never a crash (the fuzzer sent
`after=²`, which str.isdigit accepts and float refuses)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsloop.errors import InvalidInput
from opsloop.ingest.common import parse_timestamp

AT = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1_794_729_600,
        1_794_729_600_000,
        "1794729600",
        " 1794729600000 ",
        "1794729600.0",
        "2026-11-15T08:00:00Z",
        "2026-11-15T16:00:00+08:00",
        "2026-11-15 08:00:00",
    ],
)
def test_accepted_spellings_give_the_instant(value: object) -> None:
    assert parse_timestamp(value, "timestamp") == AT


@pytest.mark.parametrize("value", ["²", "١٧٦٣١٩٣٦٠٠", "1.2.3", ".", "", "12abc", True, None, [1]])
def test_other_text_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_timestamp(value, "after")
    assert caught.value.field == "after"
