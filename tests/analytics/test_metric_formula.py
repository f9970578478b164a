"""The formula language: parsing (precedence, ×/÷, errors with their position), evaluation with
nulls and zero divisors, and hypothesis round trips against Python's own arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.analytics.catalog.formula import (
    BinOp,
    Expr,
    FormulaError,
    Neg,
    Number,
    Ref,
    evaluate,
    parse_formula,
    references,
    to_text,
)

VALUES = {"a": 6.0, "b": 3.0, "c": 0.0, "n": None}


def value(text: str) -> float | None:
    return evaluate(parse_formula(text), VALUES.get)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * 2", 12.0),
        ("(a + b) * 2", 18.0),
        ("a / b / 2", 1.0),
        ("a - b - 1", 2.0),
        ("-a + b", -3.0),
        ("- - a", 6.0),
        ("a × b ÷ 2", 9.0),
        ("a/b*2", 4.0),
        ("1.5e1 - a", 9.0),
        ("a / c", None),
        ("a / (b - 3)", None),
        ("n * 0", None),
        ("c / a", 0.0),
        ("0.5", 0.5),
    ],
)
def test_values_with_precedence_nulls_and_zero_divisors(text: str, expected: float | None) -> None:
    assert value(text) == expected


def test_references_in_order_with_repeats() -> None:
    assert list(references(parse_formula("gmv / orders + gmv * k_2"))) == [
        "gmv",
        "orders",
        "gmv",
        "k_2",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a +", "ends too early"),
        ("(a + b", "'(' at 1 is not closed"),
        ("a b", "unexpected 'b' at 3"),
        ("a + )", "unexpected ')' at 5"),
        ("a % b", "unexpected '%' at 3"),
        ("Gmv", "unexpected 'G' at 1"),
        ("a + 1e999", "number too large"),
        ("(" * 40 + "a" + ")" * 40, "nests at most"),
        ("a" * 1001, "at most 1000 characters"),
    ],
)
def test_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as caught:
        parse_formula(text)
    assert message in str(caught.value)


# -- round trips ------------------------------------------------------------------------------

NAMES = ["a", "b", "c", "n"]
leaves = st.one_of(
    st.sampled_from(NAMES).map(Ref),
    st.integers(0, 1000).map(lambda i: Number(float(i))),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        inner.map(Neg),
        st.tuples(st.sampled_from("+-*/"), inner, inner).map(lambda t: BinOp(*t)),
    ),
    max_leaves=12,
)
values = st.dictionaries(
    st.sampled_from(NAMES), st.one_of(st.none(), st.integers(-50, 50)), min_size=4
)


def exact(node: Expr, env: dict[str, int | None]) -> Fraction | None:
    """The independent reference: exact rational arithmetic, None propagating."""
    if isinstance(node, Number):
        return Fraction(node.value)
    if isinstance(node, Ref):
        v = env[node.key]
        return None if v is None else Fraction(v)
    if isinstance(node, Neg):
        inner = exact(node.operand, env)
        return None if inner is None else -inner
    assert isinstance(node, BinOp)
    left, right = exact(node.left, env), exact(node.right, env)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return None if right == 0 else left / right


def fractions(node: Expr) -> Expr:
    """The tree with its numbers as exact fractions (the evaluator's arithmetic is generic)."""
    if isinstance(node, Number):
        return Number(Fraction(node.value))  # type: ignore[arg-type]
    if isinstance(node, Neg):
        return Neg(fractions(node.operand))
    if isinstance(node, BinOp):
        return BinOp(node.op, fractions(node.left), fractions(node.right))
    return node


@settings(max_examples=300, deadline=None)
@given(tree=trees, env=values)
def test_the_written_tree_parses_back_to_the_same_value(
    tree: Expr, env: dict[str, int | None]
) -> None:
    parsed = parse_formula(to_text(tree))
    assert to_text(parsed) == to_text(tree)
    got = evaluate(
        fractions(parsed),
        lambda k: None if env[k] is None else Fraction(env[k]),  # type: ignore[arg-type,return-value]
    )
    assert got == exact(tree, env)
