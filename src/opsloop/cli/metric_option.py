"""`--metric KEY[:param=value,...]`: a catalog metric as `opsloop query` options name it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opsloop.errors import InvalidInput


def _value(raw: str) -> Any:
    """Numbers and true/false as JSON; anything else is text."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, int | float | bool) else raw


def parse_metric_option(text: str) -> dict[str, Any]:
    """`feature_usage_rate:feature=AI穿搭助手` → {"metric": ..., "params": {"feature": ...}}."""
    key, sep, rest = text.partition(":")
    key = key.strip()
    if not key:
        raise InvalidInput(f"{text!r}: write KEY or KEY:param=value,...", "--metric")
    if not sep:
        return {"metric": key}
    params: dict[str, Any] = {}
    for part in rest.split(","):
        name, eq, raw = part.partition("=")
        if not eq or not name.strip():
            raise InvalidInput(f"{text!r}: parameters are name=value, comma-separated", "--metric")
        params[name.strip()] = _value(raw.strip())
    return {"metric": key, "params": params}


def add_metrics(request: dict[str, Any], field: str, options: Sequence[str]) -> None:
    """The metrics of a `metrics` request, or series of catalog metrics added to trends'."""
    refs = [parse_metric_option(m) for m in options]
    if field == "series":
        request["series"] = [*(request.get("series") or []), *refs]
    else:
        request["metrics"] = refs
