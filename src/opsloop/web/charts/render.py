"""Server-side rendering of the console's charts with vl-convert: the same spec the browser
draws, as SVG or PNG, for reports, e-mail, PDFs and pages viewed without JavaScript."""

from __future__ import annotations

import copy
import threading
from typing import Any, Literal

import vl_convert as vlc

from opsloop.web.charts.spec import Chart
from opsloop.web.charts.theme import WIDTH

ImageFormat = Literal["svg", "png"]
SVG_MEDIA_TYPE = "image/svg+xml"
PNG_MEDIA_TYPE = "image/png"
PNG_SCALE = 2  # sharp on high-density screens and in print
# vl-convert runs one embedded JavaScript engine; calls from several threads take turns.
_LOCK = threading.Lock()


def sized(spec: dict[str, Any], width: int) -> dict[str, Any]:
    """The spec with a fixed width where it asks for its container's (there is none here)."""
    if spec.get("width") != "container":
        return spec
    fixed = copy.copy(spec)
    fixed["width"] = width
    return fixed


def render_svg(chart: Chart, width: int = WIDTH) -> str:
    spec = sized(chart.spec, width)
    with _LOCK:
        if chart.grammar == "vega":
            return str(vlc.vega_to_svg(spec))
        return str(vlc.vegalite_to_svg(spec))


def render_png(chart: Chart, width: int = WIDTH, scale: float = PNG_SCALE) -> bytes:
    spec = sized(chart.spec, width)
    with _LOCK:
        if chart.grammar == "vega":
            return bytes(vlc.vega_to_png(spec, scale=scale))
        return bytes(vlc.vegalite_to_png(spec, scale=scale))


def render(chart: Chart, fmt: ImageFormat, width: int = WIDTH) -> tuple[bytes, str]:
    """The chart as a file's bytes and its media type."""
    if fmt == "png":
        return render_png(chart, width), PNG_MEDIA_TYPE
    return render_svg(chart, width).encode(), SVG_MEDIA_TYPE
