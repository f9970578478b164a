"""The metric catalog: the built-in metrics (YAML files shipped in `builtin/`) plus a workspace's
own, with their formulas' references checked (no unknown key, no cycle).

A workspace metric cannot take a built-in metric's key: reports, goals and alerts of every
workspace read a built-in key the same way (docs/decisions.md, D11). To change a definition, save
it under a new key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from opsloop.analytics.catalog.formula import references
from opsloop.analytics.catalog.spec import METRIC_ADAPTER, AnyMetric, FormulaMetric
from opsloop.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from opsloop.analytics.catalog.definitions import Definitions

BUILTIN_PACKAGE = "opsloop.analytics.catalog.builtin"
MAX_FORMULA_DEPTH = 12


class CatalogError(Exception):
    """A built-in catalog file that does not validate (a packaging bug, found by the tests)."""


def parse_metric(data: Any, at: str = "") -> AnyMetric:
    """One metric definition; InvalidInput names the faulty field (`formula`, `filters.0.op`)."""
    if not isinstance(data, dict):
        raise InvalidInput("a metric definition is a JSON object", at or None)
    try:
        metric = METRIC_ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        if loc and loc[0] == data.get("kind"):
            loc = loc[1:]  # drop the discriminator tag
        field = ".".join(p for p in [at, *loc] if p) or None
        raise InvalidInput(str(first["msg"]).removeprefix("Value error, "), field) from None
    for where, message in metric.problems():
        raise InvalidInput(message, ".".join(p for p in [at, where] if p))
    return metric


@dataclass(frozen=True)
class Catalog:
    metrics: Mapping[str, AnyMetric]
    builtin: frozenset[str]

    def __iter__(self) -> Iterator[AnyMetric]:
        return iter(self.metrics.values())

    def __contains__(self, key: object) -> bool:
        return key in self.metrics

    def get(self, key: str, field: str = "metric") -> AnyMetric:
        metric = self.metrics.get(key)
        if metric is None:
            raise NotFound(f"no metric {key!r} in the catalog", field)
        return metric

    def is_builtin(self, key: str) -> bool:
        return key in self.builtin

    def dependencies(self, key: str) -> list[str]:
        """Every metric `key` is computed from (itself excluded), depth first, no repeats."""
        out: dict[str, None] = {}

        def walk(k: str) -> None:
            metric = self.metrics.get(k)
            if isinstance(metric, FormulaMetric):
                for ref in references(metric.expression()):
                    if ref not in out:
                        out[ref] = None
                        walk(ref)

        walk(key)
        return list(out)

    def dependents(self, key: str) -> list[str]:
        """The metrics whose formulas name `key`, directly or through others."""
        return sorted(k for k in self.metrics if k != key and key in self.dependencies(k))

    def parameters(self, key: str) -> set[str]:
        """The parameters a metric takes: its own and those of every metric it is built from."""
        names = set(self.get(key).parameter_names())
        for dep in self.dependencies(key):
            names |= self.metrics[dep].parameter_names()
        return names

    def with_metrics(self, extra: Iterable[AnyMetric]) -> Catalog:
        """This catalog plus workspace metrics (checked: no built-in key, valid references)."""
        metrics = dict(self.metrics)
        for metric in extra:
            if metric.key in self.builtin:
                raise InvalidInput(f"{metric.key!r} is a built-in metric's key", "key")
            metrics[metric.key] = metric
        catalog = Catalog(metrics, self.builtin)
        catalog.check()
        return catalog

    def check(self, keys: Iterable[str] | None = None) -> None:
        """Refuse formulas naming unknown metrics, cycles and chains nested too deep."""
        for key in self.metrics if keys is None else keys:
            self._check(key, [])

    def _check(self, key: str, path: list[str]) -> None:
        metric = self.metrics[key]
        if not isinstance(metric, FormulaMetric):
            return
        if key in path:
            cycle = " → ".join([*path[path.index(key) :], key])
            raise InvalidInput(f"the formula of {path[0]!r} refers to itself: {cycle}", "formula")
        if len(path) >= MAX_FORMULA_DEPTH:
            raise InvalidInput(f"formulas nest at most {MAX_FORMULA_DEPTH} metrics deep", "formula")
        for ref in dict.fromkeys(references(metric.expression())):
            if ref not in self.metrics:
                raise InvalidInput(f"the formula of {key!r} names no metric {ref!r}", "formula")
            self._check(ref, [*path, key])


def _builtin_files() -> list[tuple[str, str]]:
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def load_catalog_files(files: Iterable[tuple[str, str]]) -> Catalog:
    """A catalog from YAML texts, each `metrics: [...]` (other top-level keys, such as anchors
    for shared units, are ignored)."""
    metrics: dict[str, AnyMetric] = {}
    for name, text in files:
        document = yaml.safe_load(text) or {}
        items = document.get("metrics") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise CatalogError(f"{name}: a `metrics:` list is missing")
        for i, item in enumerate(items):
            try:
                metric = parse_metric(item)
            except InvalidInput as exc:
                key = item.get("key") if isinstance(item, dict) else None
                raise CatalogError(
                    f"{name}: metrics[{i}] ({key}): {exc.field}: {exc.message}"
                ) from None
            if metric.key in metrics:
                raise CatalogError(f"{name}: the key {metric.key!r} is defined twice")
            metrics[metric.key] = metric
    catalog = Catalog(metrics, frozenset(metrics))
    try:
        catalog.check()
    except InvalidInput as exc:
        raise CatalogError(exc.message) from None
    return catalog


@cache
def builtin_catalog() -> Catalog:
    """The metrics shipped with OpsLoop, read once per process."""
    return load_catalog_files(_builtin_files())


def catalog_of(definitions: Definitions | None) -> Catalog:
    """The built-in catalog, plus the workspace's own metrics when the query carries them."""
    base = builtin_catalog()
    if definitions is None or not definitions.metrics:
        return base
    return base.with_metrics(definitions.metrics)
