"""The README's example per query kind, run on the demo world they were written from (the `world`
fixture is `opsloop demo-data --users 1500 --days 35 --seed 7`): each REST body answers what the
README shows (trimmed: `"…"` ends a list with items left out, objects show some of their fields,
numbers as many decimals as written), and each command line sends the same request."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from opsloop.analytics.registry import KINDS
from opsloop.analytics.service import parse_query, run_query
from tests.analytics.conftest import World
from tests.cli.test_query import request_of

README = Path(__file__).parents[2] / "README.md"
MORE = "…"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


class Shown(float):
    """A number as the README writes it, with the tolerance its decimals give."""

    tolerance: float

    @classmethod
    def parse(cls, text: str) -> Shown:
        value = cls(text)
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
        value.tolerance = 0.5 * 10**-decimals
        return value


@dataclass(frozen=True)
class Example:
    kind: str
    body: dict[str, Any]
    command: str
    answer: Any


def examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    start, end = text.index("<!-- query-examples"), text.index("<!-- /query-examples -->")
    found = []
    for section in text[start:end].split("\n#### ")[1:]:
        kind = section.split()[0]
        blocks = BLOCK.findall(section)
        assert [lang for lang, _ in blocks] == ["json", "bash", "json"], kind
        (_, body), (_, command), (_, answer) = blocks
        found.append(
            Example(
                kind,
                json.loads(body),
                command.strip(),
                json.loads(answer, parse_float=Shown.parse),
            )
        )
    return found


EXAMPLES = {e.kind: e for e in examples()}


def mismatches(shown: Any, actual: Any, at: str = "answer") -> list[str]:
    """Where the README's trimmed answer disagrees with the real one."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{at}: an object in the README, {actual!r} here"]
        out = []
        for key, value in shown.items():
            if key not in actual:
                out.append(f"{at}.{key}: not in the answer")
            else:
                out += mismatches(value, actual[key], f"{at}.{key}")
        return out
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{at}: a list in the README, {actual!r} here"]
        trimmed = bool(shown) and shown[-1] == MORE
        items = shown[:-1] if trimmed else shown
        if (len(actual) <= len(items)) if trimmed else (len(actual) != len(items)):
            return [f"{at}: {len(actual)} items, the README shows {shown!r}"]
        return [m for i, s in enumerate(items) for m in mismatches(s, actual[i], f"{at}[{i}]")]
    if isinstance(shown, Shown):
        ok = isinstance(actual, int | float) and abs(actual - shown) <= shown.tolerance
        return [] if ok else [f"{at}: {actual!r}, the README shows {float(shown)}"]
    if shown != actual or isinstance(shown, bool) != isinstance(actual, bool):
        return [f"{at}: {actual!r}, the README shows {shown!r}"]
    return []


def test_every_registered_kind_has_a_readme_example() -> None:
    assert sorted(EXAMPLES) == sorted(KINDS)
    for kind, example in EXAMPLES.items():
        assert example.body["kind"] == kind


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_readme_example_answers_as_shown(kind: str, world: World) -> None:
    example = EXAMPLES[kind]
    query = parse_query(example.body)
    args = shlex.split(example.command)
    assert args[:5] == ["opsloop", "query", kind, "-w", "demo"], example.command
    assert request_of(kind, args[5:]) == query.model_dump(mode="json")
    answer = orjson.loads(orjson.dumps(run_query(world.duck, query)))  # as REST renders it
    assert mismatches(example.answer, answer) == []


def test_the_matcher_catches_what_it_should() -> None:
    shown = json.loads('{"a": [1, 2.50, "…"], "b": {"c": "x"}}', parse_float=Shown.parse)
    assert mismatches(shown, {"a": [1, 2.504, 9], "b": {"c": "x", "d": 1}, "e": 0}) == []
    assert mismatches(shown, {"a": [1, 2.51, 9], "b": {"c": "x"}}) == [
        "answer.a[1]: 2.51, the README shows 2.5"
    ]
    assert mismatches(shown, {"a": [1, 2.5], "b": {"c": "x"}}) != []  # nothing left out
    assert mismatches(shown, {"a": [1, 2.5, 3], "b": {}}) == ["answer.b.c: not in the answer"]
    assert mismatches({"n": None}, {"n": 0}) != [] and mismatches([1, 2], [1, 2, 3]) != []
    assert mismatches(True, 1) != [] and mismatches(3, 3.0) == []
