"""From the metrics a query asks for to what must be computed: formulas expanded down to their
leaves (the metrics that are not formulas), parameters bound into the leaves' filters, and
equal leaves computed once however many formulas use them (paid conversion and ARPU share
active users)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from opsloop.analytics.catalog.catalog import Catalog
from opsloop.analytics.catalog.formula import Expr, evaluate, references
from opsloop.analytics.catalog.spec import (
    AnyMetric,
    EventMetric,
    FormulaMetric,
    MetricBase,
    SpendMetric,
    filter_parameter,
)
from opsloop.errors import InvalidInput

ParamValue = str | int | float | bool
# What a leaf's value is not about: its presentation.
COSMETIC = {"key", "name", "description", "unit", "format", "currency", "decimals", "tags"}
COSMETIC |= {"parameters"}


@dataclass(frozen=True)
class MetricRequest:
    """One metric of a query, with the parameters it is asked with."""

    key: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    label: str | None = None
    field: str = "metrics"  # where the request came from, for error messages


@dataclass(frozen=True)
class LeafNode:
    leaf_id: str


@dataclass(frozen=True)
class FormulaNode:
    expr: Expr
    children: Mapping[str, Node]


Node = LeafNode | FormulaNode


def bind(metric: AnyMetric, params: Mapping[str, ParamValue]) -> AnyMetric:
    """The metric with `"{name}"` filter values replaced by the parameters given, and the
    filters whose parameter is not given left out."""
    if not isinstance(metric, EventMetric) or not metric.filters:
        return metric
    filters = []
    for f in metric.filters:
        name = filter_parameter(f)
        if name is None:
            filters.append(f)
        elif name in params:
            filters.append(f.model_copy(update={"value": params[name]}))
    return metric.model_copy(update={"filters": tuple(filters)})


def leaf_id(metric: MetricBase) -> str:
    """Equal for two leaves that compute the same thing, whatever they are called."""
    body = metric.model_dump(mode="json", exclude=COSMETIC)
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()


class MetricPlan:
    """The leaves to compute for some metric requests, and how to combine them."""

    def __init__(self, catalog: Catalog, requests: Sequence[MetricRequest]) -> None:
        self.catalog = catalog
        self.leaves: dict[str, AnyMetric] = {}
        self.requests = list(requests)
        missing = next((r for r in requests if r.key not in catalog), None)
        if missing is not None:
            raise InvalidInput(f"no metric {missing.key!r} in the catalog", missing.field)
        self.metrics = [catalog.get(r.key, r.field) for r in requests]
        self.trees: list[Node] = []
        for request in requests:
            taken = catalog.parameters(request.key)
            for name in request.params:
                if name not in taken:
                    offered = ", ".join(sorted(taken)) or "none"
                    raise InvalidInput(
                        f"{request.key} takes no parameter {name!r} (its parameters: {offered})",
                        f"{request.field}.params.{name}",
                    )
            self.trees.append(self._node(request.key, request.params))

    def _node(self, key: str, params: Mapping[str, ParamValue]) -> Node:
        metric = self.catalog.metrics[key]
        if isinstance(metric, FormulaMetric):
            expr = metric.expression()
            children = {ref: self._node(ref, params) for ref in dict.fromkeys(references(expr))}
            return FormulaNode(expr, children)
        bound = bind(metric, params)
        ident = leaf_id(bound)
        self.leaves.setdefault(ident, bound)
        return LeafNode(ident)

    def leaves_of(self, index: int) -> list[str]:
        """The leaves a request is computed from."""
        out: dict[str, None] = {}
        todo: list[Node] = [self.trees[index]]
        while todo:
            node = todo.pop()
            if isinstance(node, FormulaNode):
                todo += node.children.values()
            else:
                out[node.leaf_id] = None
        return list(out)

    def uses_spend(self, index: int) -> bool:
        """Whether a request is computed from the spend table (its money is in that currency)."""
        return any(isinstance(self.leaves[leaf], SpendMetric) for leaf in self.leaves_of(index))

    def first_leaf(self, index: int = 0) -> str:
        """The leaf a request's breakdown values are ranked by: its first component."""
        node = self.trees[index]
        while isinstance(node, FormulaNode):
            node = next(iter(node.children.values()))
        return node.leaf_id


def value_of(node: Node, leaf_value: Callable[[str], float | None]) -> float | None:
    """A request's value in one cell, from its leaves' values in that cell."""
    if isinstance(node, LeafNode):
        return leaf_value(node.leaf_id)
    return evaluate(node.expr, lambda key: value_of(node.children[key], leaf_value))


def describe(metric: AnyMetric) -> dict[str, Any]:
    """How a metric presents itself in answers and lists (names and formats in both languages)."""
    body = metric.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    return {k: body[k] for k in ("key", "kind", "name", "description", "unit", "format")} | {
        "currency": metric.currency,
        "decimals": metric.decimals,
        **({"formula": metric.formula} if isinstance(metric, FormulaMetric) else {}),
    }
