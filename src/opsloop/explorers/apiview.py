""" "View as API": the explorer's query as the REST body, a curl line and the CLI line that give
exactly the answer shown, so a chart can be reproduced or scripted."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

TOKEN_VARIABLE = "$OPSLOOP_API_TOKEN"


@dataclass(frozen=True, slots=True)
class ApiView:
    body: str  # pretty JSON
    curl: str
    cli: str


def api_view(body: dict[str, Any], base_url: str, workspace: str) -> ApiView:
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    curl = (
        f"curl -X POST {shlex.quote(base_url.rstrip('/') + '/api/v1/query')} \\\n"
        f'  -H "Authorization: Bearer {TOKEN_VARIABLE}" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(compact)}"
    )
    cli = (
        f"opsloop query {shlex.quote(str(body['kind']))} --workspace {shlex.quote(workspace)}"
        f" --body {shlex.quote(compact)} --json"
    )
    return ApiView(json.dumps(body, ensure_ascii=False, indent=2), curl, cli)
