"""Paths as a Sankey diagram. Vega-Lite has no Sankey, and Vega no Sankey layout, so the layout
is computed here (a column per step, nodes stacked by persons, links as filled bands) and drawn
by a small Vega spec of rects, paths and labels: the browser and vl-convert draw it alike."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from opsloop.web import formatting
from opsloop.web.charts.spec import Chart, translator
from opsloop.web.charts.theme import MUTED, TEXT, WIDTH, color_of, font_for
from opsloop.web.i18n import N_

MSG_TITLE = N_("Paths")
MSG_PERSONS = N_("Persons")
MSG_STEP = N_("Step %(n)s")
MSG_FLOW = N_("%(source)s → %(target)s")
HEIGHT = 420
NODE_WIDTH = 12
NODE_GAP = 10
TOP = 24  # room for the step headers
LABEL_GAP = 6
LINK_OPACITY = 0.35
LINK_HOVER_OPACITY = 0.65


@dataclass(frozen=True, slots=True)
class PlacedNode:
    name: str
    step: int
    event: str
    value: int
    x: float
    y: float
    height: float
    color: str


@dataclass(frozen=True, slots=True)
class PlacedLink:
    source: str
    target: str
    value: int
    path: str
    color: str


def _sizes(answer: dict[str, Any]) -> dict[str, int]:
    """A node's size: the most of its persons, its inflow and its outflow (a person on several
    paths can flow out more than once)."""
    inflow: dict[str, int] = defaultdict(int)
    outflow: dict[str, int] = defaultdict(int)
    for link in answer.get("links", []):
        outflow[link["source"]] += int(link["value"])
        inflow[link["target"]] += int(link["value"])
    return {
        n["name"]: max(int(n["value"]), inflow[n["name"]], outflow[n["name"]])
        for n in answer.get("nodes", [])
    }


def layout(
    answer: dict[str, Any], width: float = WIDTH, height: float = HEIGHT
) -> tuple[list[PlacedNode], list[PlacedLink]]:
    """Place the nodes (in the answer's order within a step) and draw each link's band."""
    nodes = list(answer.get("nodes", []))
    if not nodes:
        return [], []
    sizes = _sizes(answer)
    steps = sorted({int(n["step"]) for n in nodes})
    columns = {s: [n for n in nodes if int(n["step"]) == s] for s in steps}
    usable = height - TOP
    scale = min(
        (usable - NODE_GAP * (len(col) - 1)) / max(1, sum(sizes[n["name"]] for n in col))
        for col in columns.values()
    )
    span = (width - NODE_WIDTH) / max(1, len(steps) - 1)
    colors = {e: color_of(i) for i, e in enumerate(dict.fromkeys(str(n["event"]) for n in nodes))}
    placed: dict[str, PlacedNode] = {}
    for c, step in enumerate(steps):
        y = float(TOP)
        for n in columns[step]:
            h = max(1.0, sizes[n["name"]] * scale)
            placed[n["name"]] = PlacedNode(
                n["name"],
                step,
                str(n["event"]),
                int(n["value"]),
                c * span,
                y,
                h,
                colors[str(n["event"])],
            )
            y += h + NODE_GAP
    links = [
        lk for lk in answer.get("links", []) if lk["source"] in placed and lk["target"] in placed
    ]
    out_order = sorted(links, key=lambda lk: (placed[lk["source"]].y, placed[lk["target"]].y))
    in_order = sorted(links, key=lambda lk: (placed[lk["target"]].y, placed[lk["source"]].y))
    out_at: dict[str, float] = defaultdict(float)
    in_at: dict[str, float] = defaultdict(float)
    tops: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for lk in out_order:
        tops[id(lk)][0] = placed[lk["source"]].y + out_at[lk["source"]]
        out_at[lk["source"]] += lk["value"] * scale
    for lk in in_order:
        tops[id(lk)][1] = placed[lk["target"]].y + in_at[lk["target"]]
        in_at[lk["target"]] += lk["value"] * scale
    bands = []
    for lk in links:
        source, target = placed[lk["source"]], placed[lk["target"]]
        y0, y1 = tops[id(lk)]
        bands.append(
            PlacedLink(
                lk["source"],
                lk["target"],
                int(lk["value"]),
                band_path(source.x + NODE_WIDTH, y0, target.x, y1, max(1.0, lk["value"] * scale)),
                source.color,
            )
        )
    return list(placed.values()), bands


def band_path(x0: float, y0: float, x1: float, y1: float, thickness: float) -> str:
    """A filled band from (x0, y0) to (x1, y1), `thickness` high, with S-shaped edges."""
    xm = (x0 + x1) / 2
    b0, b1 = y0 + thickness, y1 + thickness
    return (
        f"M{x0:.1f},{y0:.1f}C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        f"L{x1:.1f},{b1:.1f}C{xm:.1f},{b1:.1f} {xm:.1f},{b0:.1f} {x0:.1f},{b0:.1f}Z"
    )


def _tooltip(persons_title: str) -> dict[str, str]:
    """A Vega tooltip signal: the mark's title, then its persons under a translated name."""
    return {"signal": "{'title': datum.title, " + json.dumps(persons_title) + ": datum.persons}"}


def sankey_chart(answer: dict[str, Any], language: str, *, width: float = WIDTH) -> Chart:
    t = translator(language)
    nodes, links = layout(answer, width, HEIGHT)
    last_step = max((n.step for n in nodes), default=0)
    events = {n.name: n.event for n in nodes}
    node_values = [
        {
            "x": n.x,
            "y": n.y,
            "h": n.height,
            "color": n.color,
            "label": f"{n.event} ({formatting.compact(n.value, language)})",
            "lx": n.x - LABEL_GAP if n.step == last_step else n.x + NODE_WIDTH + LABEL_GAP,
            "ly": n.y + n.height / 2,
            "align": "right" if n.step == last_step else "left",
            "title": n.event,
            "persons": formatting.number(n.value, language),
        }
        for n in nodes
    ]
    link_values = [
        {
            "path": lk.path,
            "color": lk.color,
            "title": t(MSG_FLOW) % {"source": events[lk.source], "target": events[lk.target]},
            "persons": formatting.number(lk.value, language),
        }
        for lk in links
    ]
    step_xs = sorted({(n.step, n.x) for n in nodes})
    headers = [
        {
            "x": x + (0 if s != last_step else NODE_WIDTH),
            "text": t(MSG_STEP) % {"n": s},
            "align": "right" if s == last_step else "left",
        }
        for s, x in step_xs
    ]
    font = font_for(language)
    tooltip = _tooltip(t(MSG_PERSONS))
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega/v6.json",
        "description": t(MSG_TITLE),
        "width": width,
        "height": HEIGHT,
        "padding": 8,
        "background": "#ffffff",
        "data": [
            {"name": "links", "values": link_values},
            {"name": "nodes", "values": node_values},
            {"name": "headers", "values": headers},
        ],
        "marks": [
            {
                "type": "path",
                "from": {"data": "links"},
                "encode": {
                    "enter": {
                        "path": {"field": "path"},
                        "fill": {"field": "color"},
                        "tooltip": tooltip,
                    },
                    "update": {"fillOpacity": {"value": LINK_OPACITY}},
                    "hover": {"fillOpacity": {"value": LINK_HOVER_OPACITY}},
                },
            },
            {
                "type": "rect",
                "from": {"data": "nodes"},
                "encode": {
                    "enter": {
                        "x": {"field": "x"},
                        "y": {"field": "y"},
                        "width": {"value": NODE_WIDTH},
                        "height": {"field": "h"},
                        "fill": {"field": "color"},
                        "cornerRadius": {"value": 2},
                        "tooltip": tooltip,
                    }
                },
            },
            {
                "type": "text",
                "from": {"data": "nodes"},
                "interactive": False,
                "encode": {
                    "enter": {
                        "x": {"field": "lx"},
                        "y": {"field": "ly"},
                        "align": {"field": "align"},
                        "baseline": {"value": "middle"},
                        "text": {"field": "label"},
                        "font": {"value": font},
                        "fontSize": {"value": 11},
                        "fill": {"value": TEXT},
                        "limit": {"value": 180},
                    }
                },
            },
            {
                "type": "text",
                "from": {"data": "headers"},
                "interactive": False,
                "encode": {
                    "enter": {
                        "x": {"field": "x"},
                        "y": {"value": 8},
                        "align": {"field": "align"},
                        "text": {"field": "text"},
                        "font": {"value": font},
                        "fontSize": {"value": 11},
                        "fill": {"value": MUTED},
                    }
                },
            },
        ],
    }
    return Chart("vega", spec, t(MSG_TITLE), HEIGHT, rows=len(links))
