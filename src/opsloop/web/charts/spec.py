"""A chart as the console carries it: a Vega-Lite spec (built with Altair) or, where Vega-Lite has
no mark for it (the paths Sankey), a Vega spec; embedded in pages as JSON and drawn by
static/charts.js, or rendered to SVG/PNG on the server from the very same spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from opsloop.web.charts.theme import HEIGHT, vega_lite_config
from opsloop.web.i18n import N_, translate

if TYPE_CHECKING:
    import altair as alt

Grammar = Literal["vega-lite", "vega"]
NONE_LABEL = N_("(none)")
OTHER_LABEL = N_("Other")
OTHER_VALUE = "$other"  # the engine's name for values folded past a breakdown limit
# Characters that must not appear raw inside a <script> block of a page.
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@dataclass(frozen=True, slots=True)
class Chart:
    grammar: Grammar
    spec: dict[str, Any]
    title: str  # the chart's accessible name
    height: int = HEIGHT
    rows: int = 0  # data points drawn; 0 means an empty chart
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return self.rows == 0

    def json(self) -> str:
        """The spec as JSON that is safe to place inside a <script type="application/json">."""
        return orjson.dumps(self.spec).decode().translate(_SCRIPT_ESCAPES)


def vega_lite(
    chart: alt.TopLevelMixin, language: str, title: str, *, height: int = HEIGHT, rows: int
) -> Chart:
    """Finish an Altair chart: the console's theme, the container's width, an accessible name."""
    spec = (
        chart.properties(width="container", height=height, description=title)
        .configure(**vega_lite_config(language))
        .to_dict()
    )
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    return Chart("vega-lite", spec, title, height, rows)


def translator(language: str) -> Callable[[str], str]:
    """`t(message_id)`: the message in `language`."""

    def t(message: str) -> str:
        return translate(language, message)

    return t


def breakdown_label(value: Any, language: str) -> str:
    """How a breakdown value is shown: its text, (none) for a missing one, Other for the rest."""
    if value is None:
        return translate(language, NONE_LABEL)
    if value == OTHER_VALUE:
        return translate(language, OTHER_LABEL)
    return str(value)


def explicit_order(values: list[str]) -> list[str]:
    """The distinct values in first-seen order: the sort Vega-Lite should keep."""
    return list(dict.fromkeys(values))
