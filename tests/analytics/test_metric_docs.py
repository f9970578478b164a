"""The README documents the catalog: every built-in metric is listed with its zh-CN name and
definition, and the format example validates as a workspace would define it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from opsloop.analytics.catalog.catalog import builtin_catalog, parse_metric
from opsloop.analytics.catalog.spec import KINDS

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Metric catalog")
    return text[start : text.index("\n## ", start + 1)]


def test_every_built_in_metric_is_listed_with_its_definition() -> None:
    rows = {
        m.group(1): (m.group(2), m.group(4))
        for m in re.finditer(
            r"^\| `([a-z0-9_]+)` \| ([^|]+) \| ([^|]+) \| (.+) \|$", section(), re.M
        )
    }
    catalog = builtin_catalog()
    assert set(rows) == set(catalog.metrics)
    for metric in catalog:
        name, definition = rows[metric.key]
        assert name.strip() == metric.name.zh_CN
        assert definition.strip().replace("\\|", "|") == " ".join(metric.description.en.split())


def test_every_kind_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)`", section(), re.M)) | {"avg", "min", "max"}
    assert set(KINDS) <= documented


def test_the_format_example_validates() -> None:
    text = section()
    example = text[
        text.index("```yaml") + len("```yaml") : text.index("```", text.index("```yaml") + 7)
    ]
    items = yaml.safe_load(example)["metrics"]
    metrics = [parse_metric(item) for item in items]
    catalog = builtin_catalog().with_metrics(metrics)
    assert catalog.parameters("checkout_pay_rate") == {"category"}
    assert catalog.dependencies("checkout_pay_rate") == ["paying_users", "checkout_users"]
