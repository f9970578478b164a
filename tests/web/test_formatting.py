"""Numbers, money, shares, durations and buckets in both languages: 万 / 亿 in Chinese,
thousands separators and K / M / B in English, and the chart axes' expression agreeing with them."""

from __future__ import annotations

import pytest
import vl_convert as vlc

from opsloop.web import formatting as f
from opsloop.web.charts.theme import compact_expr


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (0, "0", "0"),
        (1234.5, "1,234.5", "1,234.5"),
        (9999, "9,999", "9,999"),
        (12_345, "1.2万", "12.3K"),
        (12_345_678, "1234.6万", "12.3M"),
        (123_456_789, "1.2亿", "123.5M"),
        (-25_000, "-2.5万", "-25K"),
        (None, "–", "–"),
    ],
)
def test_compact(value: float | None, zh: str, en: str) -> None:
    assert (f.compact(value, "zh-CN"), f.compact(value, "en")) == (zh, en)


def test_number_and_fixed_decimals() -> None:
    assert f.number(1234567, "zh-CN") == "1,234,567"
    assert f.number(1234.567, "en", 2) == "1,234.57"
    assert f.number(3, "en", 0) == "3"


def test_percent_and_change() -> None:
    assert [f.percent(v, "zh-CN") for v in (0.1234, 1, 0, None)] == ["12.3%", "100.0%", "0.0%", "–"]
    assert f.percent(0.5, "en", 0) == "50%"
    assert [f.change(v, "en") for v in (0.05, -0.1234, 0.00001, None)] == [
        "+5.0%",
        "−12.3%",
        "0.0%",
        "–",
    ]


def test_money_in_yuan() -> None:
    assert [f.money(v, "zh-CN") for v in (99.5, 1_234_567, 2.5e8)] == [
        "¥99.50",
        "¥123.5万",
        "¥2.5亿",
    ]
    assert [f.money(v, "en") for v in (99.5, 1_234_567)] == ["CN¥99.50", "CN¥1.2M"]


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (0.42, "0.4秒", "0.4s"),
        (5, "5秒", "5s"),
        (65, "1分钟5秒", "1m 5s"),
        (3725, "1小时2分钟", "1h 2m"),
        (90_000, "1天1小时", "1d 1h"),
        (3 * 86_400 + 5, "3天", "3d"),
        (None, "–", "–"),
    ],
)
def test_duration_by_its_two_largest_adjacent_units(
    seconds: float | None, zh: str, en: str
) -> None:
    assert (f.duration(seconds, "zh-CN"), f.duration(seconds, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("label", "interval", "zh", "en"),
    [
        ("2026-11-01", "day", "11月1日", "Nov 1"),
        ("2026-11-01 13:00", "hour", "11月1日 13:00", "Nov 1 13:00"),
        ("2026-11-02", "week", "11月2日 当周", "Week of Nov 2"),
        ("2026-11", "month", "2026年11月", "Nov 2026"),
    ],
)
def test_bucket_labels(label: str, interval: str, zh: str, en: str) -> None:
    assert (f.bucket(label, interval, "zh-CN"), f.bucket(label, interval, "en")) == (zh, en)


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (2500, "2,500", "2,500"),
        (20_000, "2万", "20K"),
        (1_500_000, "150万", "1.5M"),
        (300_000_000, "3亿", "300M"),
        (2e9, "20亿", "2B"),
        (-40_000, "-4万", "-40K"),
    ],
)
def test_the_axis_expression_writes_round_numbers_like_compact(
    value: float, zh: str, en: str
) -> None:
    """Vega evaluates the expression (as vl-convert and the browser do); for the round values
    axes show, it agrees with formatting.compact."""
    for language, expected in (("zh-CN", zh), ("en", en)):
        spec = {
            "data": {"values": [{"v": value}]},
            "mark": "text",
            "encoding": {"text": {"field": "label"}},
            "transform": [{"calculate": compact_expr("datum.v", language), "as": "label"}],
        }
        svg = vlc.vegalite_to_svg(spec)
        assert f">{expected}</text>" in svg.replace("\u2212", "-")  # d3 writes U+2212
        if abs(value) < 1e9:
            assert f.compact(value, language).replace(".0", "") in (
                expected,
                expected.replace(",", ""),
            )
