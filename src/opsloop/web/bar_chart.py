"""A stacked bar chart laid out on the server, drawn as inline SVG by a template (no script, no
CDN). A stop-gap until the console's Vega-Lite charts arrive."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from opsloop.events.activity import EventVolume

WIDTH = 900
HEIGHT = 260
LEFT = 56
RIGHT = 8
TOP = 12
BOTTOM = 28
MAX_SERIES = 8
OTHER = "__other__"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # colour index; MAX_SERIES is "other"
    name: str
    day: date
    value: int


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True, slots=True)
class DayLabel:
    day: date
    x: float


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    left: int
    bottom: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[DayLabel, ...]
    legend: tuple[tuple[int, str], ...]  # (colour index, series name); OTHER for the rest


def nice_step(max_value: float, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10^k) that divides 0..max_value into about `ticks` parts."""
    if max_value <= 0:
        return 1
    raw = max_value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return max(1, int(m * power))
    return max(1, int(10 * power))


def stacked_bars(volume: EventVolume) -> BarChart:
    """One bar a day, stacked by event: the largest events get their own colour, the rest one."""
    top = volume.series[:MAX_SERIES]
    rest = volume.series[MAX_SERIES:]
    layers = [(i, s.event, s.counts) for i, s in enumerate(top)]
    if rest:
        other = tuple(sum(s.counts[d] for s in rest) for d in range(len(volume.days)))
        layers.append((MAX_SERIES, OTHER, other))
    step = nice_step(max(volume.totals, default=0))
    y_max = step * max(1, math.ceil(max(volume.totals, default=0) / step))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(volume.days))
    bar_w = slot * 0.72
    bars = []
    for d, day in enumerate(volume.days):
        base = 0
        for index, name, counts in layers:
            value = counts[d]
            if value == 0:
                continue
            h = value / y_max * plot_h
            y = TOP + plot_h - (base + value) / y_max * plot_h
            bars.append(
                Bar(LEFT + d * slot + (slot - bar_w) / 2, y, bar_w, h, index, name, day, value)
            )
            base += value
    ticks = tuple(Tick(v, TOP + plot_h - v / y_max * plot_h) for v in range(0, y_max + 1, step))
    every = max(1, math.ceil(len(volume.days) / 6))
    labels = tuple(
        DayLabel(day, LEFT + d * slot + slot / 2)
        for d, day in enumerate(volume.days)
        if (len(volume.days) - 1 - d) % every == 0
    )
    return BarChart(
        WIDTH,
        HEIGHT,
        LEFT,
        TOP + plot_h,
        tuple(bars),
        ticks,
        labels,
        tuple((i, name) for i, name, _ in layers),
    )
