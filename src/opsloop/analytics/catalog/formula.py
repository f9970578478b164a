"""Formulas over metrics: a small safe parser (no eval) and their evaluation with nulls.

Grammar: `expr := term (("+" | "-") term)*`, `term := factor (("*" | "×" | "/" | "÷") factor)*`,
`factor := "-" factor | number | metric_key | "(" expr ")"`. A value is a float or None (no data);
any None operand gives None, and so does a division by zero (a rate of nothing is unknown, not
0 or infinity).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_LENGTH = 1000
MAX_DEPTH = 30
TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[a-z][a-z0-9_]*)|(?P<op>[-+*/×÷()]))"
)
OPS = {"×": "*", "÷": "/"}


class FormulaError(ValueError):
    """A formula that does not parse; the message says where."""


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class Ref:
    key: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * /
    left: Expr
    right: Expr


Expr = Number | Ref | Neg | BinOp


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise FormulaError(f"unexpected {text[at]!r} at {at + 1}")
        kind = m.lastgroup or "op"
        value = m.group(kind)
        out.append((kind, OPS.get(value, value), m.start(kind) + 1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FormulaError("the formula ends too early")
        self.i += 1
        return token

    def expr(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise FormulaError(f"a formula nests at most {MAX_DEPTH} levels")
        node = self.term(depth)
        while (t := self.peek()) is not None and t[1] in ("+", "-"):
            self.i += 1
            node = BinOp(t[1], node, self.term(depth))
        return node

    def term(self, depth: int) -> Expr:
        node = self.factor(depth)
        while (t := self.peek()) is not None and t[1] in ("*", "/"):
            self.i += 1
            node = BinOp(t[1], node, self.factor(depth))
        return node

    def factor(self, depth: int) -> Expr:
        kind, value, at = self.take()
        if kind == "number":
            number = float(value)
            if not math.isfinite(number):
                raise FormulaError(f"number too large at {at}")
            return Number(number)
        if kind == "name":
            return Ref(value)
        if value == "-":
            return Neg(self.factor(depth + 1))
        if value == "(":
            node = self.expr(depth + 1)
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise FormulaError(f"the '(' at {at} is not closed")
            self.i += 1
            return node
        raise FormulaError(f"unexpected {value!r} at {at}")


def parse_formula(text: str) -> Expr:
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula has at most {MAX_LENGTH} characters")
    parser = _Parser(text)
    if not parser.tokens:
        raise FormulaError("the formula is empty")
    node = parser.expr(0)
    rest = parser.peek()
    if rest is not None:
        raise FormulaError(f"unexpected {rest[1]!r} at {rest[2]}")
    return node


def references(node: Expr) -> Iterator[str]:
    """The metric keys a formula names, in order of appearance (repeats included)."""
    if isinstance(node, Ref):
        yield node.key
    elif isinstance(node, Neg):
        yield from references(node.operand)
    elif isinstance(node, BinOp):
        yield from references(node.left)
        yield from references(node.right)


def evaluate(node: Expr, value_of: Callable[[str], float | None]) -> float | None:
    """The formula's value; None when any operand is None or a divisor is 0."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        return value_of(node.key)
    if isinstance(node, Neg):
        inner = evaluate(node.operand, value_of)
        return None if inner is None else -inner
    left = evaluate(node.left, value_of)
    right = evaluate(node.right, value_of)
    if left is None or right is None:
        return None
    if node.op == "+":
        out = left + right
    elif node.op == "-":
        out = left - right
    elif node.op == "*":
        out = left * right
    else:
        if right == 0:
            return None
        out = left / right
    return out if math.isfinite(out) else None


def to_text(node: Expr) -> str:
    """The formula written back with full parentheses (for messages and tests)."""
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Ref):
        return node.key
    if isinstance(node, Neg):
        return f"(-{to_text(node.operand)})"
    return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
