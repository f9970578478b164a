"""The paths Sankey's layout: columns per step, nodes sized by persons without overlapping, each
link a band as thick as its persons, leaving its source and entering its target inside them."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import Any

from opsloop.web.charts.sankey import HEIGHT, NODE_WIDTH, TOP, band_path, layout, sankey_chart

ANSWER: dict[str, Any] = {
    "kind": "paths",
    "persons": 100,
    "nodes": [
        {"name": "1_app_open", "step": 1, "event": "app_open", "value": 100},
        {"name": "2_view_item", "step": 2, "event": "view_item", "value": 60},
        {"name": "2_sign_up", "step": 2, "event": "sign_up", "value": 30},
        {"name": "3_pay", "step": 3, "event": "pay", "value": 45},
        {"name": "3_view_item", "step": 3, "event": "view_item", "value": 20},
    ],
    "links": [
        {"source": "1_app_open", "target": "2_view_item", "value": 60},
        {"source": "1_app_open", "target": "2_sign_up", "value": 30},
        {"source": "2_view_item", "target": "3_pay", "value": 40},
        {"source": "2_sign_up", "target": "3_view_item", "value": 20},
        {"source": "2_sign_up", "target": "3_pay", "value": 5},
    ],
}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _band(path: str) -> tuple[float, float, float, float, float, float]:
    """(x0, top0, bottom0, x1, top1, bottom1) of a band drawn by band_path."""
    n = [float(v) for v in NUMBER.findall(path)]
    # M x0,y0 C .. .. x1,y1 L x1,b1 C .. .. x0,b0 Z
    x0, y0, x1, y1, b1, b0 = n[0], n[1], n[6], n[7], n[9], n[15]
    return x0, y0, b0, x1, y1, b1


def test_band_path_goes_out_and_back_with_the_thickness() -> None:
    assert band_path(10, 20, 110, 60, 5) == (
        "M10.0,20.0C60.0,20.0 60.0,60.0 110.0,60.0L110.0,65.0C60.0,65.0 60.0,25.0 10.0,25.0Z"
    )
    assert _band(band_path(10, 20, 110, 60, 5)) == (10.0, 20.0, 25.0, 110.0, 60.0, 65.0)


def test_layout_places_columns_by_step_and_stacks_nodes_without_overlap() -> None:
    nodes, links = layout(ANSWER, width=600, height=HEIGHT)
    by_name = {n.name: n for n in nodes}
    assert [by_name[f"{s}_{e}"].x for s, e in [(1, "app_open"), (2, "view_item"), (3, "pay")]] == [
        0.0,
        (600 - NODE_WIDTH) / 2,
        600 - NODE_WIDTH,
    ]
    columns: dict[int, list[Any]] = defaultdict(list)
    for n in nodes:
        assert n.y >= TOP and n.y + n.height <= HEIGHT + 1e-6
        columns[n.step].append(n)
    for column in columns.values():
        column.sort(key=lambda n: n.y)
        for above, below in itertools.pairwise(column):
            assert above.y + above.height < below.y
    # One scale for every node: height / size is the same (size = max(persons, in, out)).
    sizes = {"1_app_open": 100, "2_view_item": 60, "2_sign_up": 30, "3_pay": 45, "3_view_item": 20}
    ratios = {round(by_name[k].height / v, 6) for k, v in sizes.items()}
    assert len(ratios) == 1
    assert len(links) == len(ANSWER["links"])


def test_links_are_as_thick_as_their_persons_and_stay_inside_their_nodes() -> None:
    nodes, links = layout(ANSWER, width=600, height=HEIGHT)
    by_name = {n.name: n for n in nodes}
    scale = by_name["1_app_open"].height / 100
    for link in links:
        x0, top0, bottom0, x1, top1, bottom1 = _band(link.path)
        source, target = by_name[link.source], by_name[link.target]
        assert round(bottom0 - top0, 1) == round(bottom1 - top1, 1) == round(link.value * scale, 1)
        assert (x0, x1) == (round(source.x + NODE_WIDTH, 1), round(target.x, 1))
        assert source.y - 0.1 <= top0 and bottom0 <= source.y + source.height + 0.1
        assert target.y - 0.1 <= top1 and bottom1 <= target.y + target.height + 0.1
        assert link.color == source.color


def test_the_vega_spec_labels_every_node_with_its_persons() -> None:
    chart = sankey_chart(ANSWER, "zh-CN")
    assert chart.grammar == "vega" and not chart.empty
    data = {d["name"]: d["values"] for d in chart.spec["data"]}
    assert sorted(v["label"] for v in data["nodes"]) == sorted(
        ["app_open (100)", "view_item (60)", "sign_up (30)", "pay (45)", "view_item (20)"]
    )
    assert [h["text"] for h in data["headers"]] == ["第 1 步", "第 2 步", "第 3 步"]
    assert {v["title"] for v in data["links"]} >= {"app_open → view_item", "sign_up → pay"}


def test_no_paths_is_an_empty_chart() -> None:
    chart = sankey_chart({"kind": "paths", "persons": 0, "nodes": [], "links": []}, "en")
    assert chart.empty
