"""`opsloop query paths`: the table, --json and --csv of a Sankey answer against a plain-Python
reference over the shop's log (tests/cli/test_query.py's LOG)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from opsloop.cli import common
from tests.cli.test_query import LOG, Shop, example, shop  # noqa: F401  (shop: the fixture)

DEPTH = 3


def reference_paths(start: str, depth: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(nodes, links) from each person's first `start` on, `depth` events long: a node's value is
    the persons at it, a link's the persons who took it; nodes by step, then largest; links by
    step, then largest (ties by name)."""
    by_person: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for i, (who, event, local, _) in enumerate(LOG):
        if "2026-06-01" <= local[:10] <= "2026-06-07":
            by_person[who].append((datetime.fromisoformat(local), i, event))
    nodes: Counter[tuple[int, str]] = Counter()
    links: Counter[tuple[int, str, str]] = Counter()
    for events in by_person.values():
        names = [e for _, _, e in sorted(events)]
        if start not in names:
            continue
        path = names[names.index(start) :][:depth]
        nodes.update((k + 1, e) for k, e in enumerate(path))
        links.update((k + 1, a, b) for k, (a, b) in enumerate(pairwise(path)))
    node_list = [
        {"name": f"{s}_{e}", "step": s, "event": e, "value": v}
        for (s, e), v in sorted(nodes.items(), key=lambda n: (n[0][0], -n[1], n[0][1]))
    ]
    link_list = [
        {"source": f"{s}_{a}", "target": f"{s + 1}_{b}", "value": v}
        for (s, a, b), v in sorted(links.items(), key=lambda x: (x[0][0], -x[1], x[0][1:]))
    ]
    return node_list, link_list


def test_the_example_is_a_paths_request_from_sign_up() -> None:
    args = example("paths")
    assert args[:2] == ["--event", "sign_up"] and f"depth={DEPTH}" in args


def test_json_answer_equals_the_reference(shop: Shop) -> None:  # noqa: F811
    answer = shop.answer("paths", *example("paths"))
    nodes, links = reference_paths("sign_up", DEPTH)
    assert (answer["kind"], answer["persons"]) == ("paths", 4)
    assert answer["nodes"] == nodes
    assert answer["links"] == links


def test_csv_has_a_section_per_list(shop: Shop) -> None:  # noqa: F811
    r = shop.cli("paths", *example("paths"), "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    nodes, links = reference_paths("sign_up", DEPTH)
    blank = {"name": "", "step": "", "event": "", "value": "", "source": "", "target": ""}
    assert rows == [
        *({**blank, "section": "nodes", **{k: str(v) for k, v in n.items()}} for n in nodes),
        *({**blank, "section": "links", **{k: str(v) for k, v in x.items()}} for x in links),
    ]


def test_table_shows_nodes_and_links(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(common.out_console, "width", 200)
    r = shop.cli("paths", *example("paths"))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("kind: paths  persons: 4")
    headers = [[c.strip() for c in line.split("┃")] for line in lines if "┃" in line]
    assert headers == [["name", "step", "event", "value"], ["source", "target", "value"]]
    body = [[c.strip() for c in line.split("│")] for line in lines if "│" in line]
    nodes, links = reference_paths("sign_up", DEPTH)
    assert body == [
        *([n["name"], str(n["step"]), n["event"], str(n["value"])] for n in nodes),
        *([x["source"], x["target"], str(x["value"])] for x in links),
    ]
    titles = [line.strip() for line in lines if line.strip() in ("nodes", "links")]
    assert titles == ["nodes", "links"]
