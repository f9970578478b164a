"""Schemathesis walks the account, token, workspace-settings and audit routes as an owner: no
5xx, every answer as the OpenAPI schema documents it, every 4xx the JSON error shape.

Each case gets a fresh owner token (a case may revoke tokens, demote members or rotate the key),
so every case is really authenticated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from sqlalchemy import update

from opsloop.accounts.models import Membership
from opsloop.accounts.service import create_user
from opsloop.db import open_database
from opsloop.settings import Settings
from opsloop.web.app import create_app
from opsloop.workspaces.service import create_workspace
from opsloop.workspaces.tokens import create_token
from tests.conftest import LiveServer, _start
from tests.ingest.fuzzing import assert_well_formed
from tests.ingest.test_fuzz import ACCESS_TAGS, CHECKS, QUICK


def _openapi() -> dict[str, Any]:
    return create_app(Settings(data_dir=Path("unused"))).openapi()


SCHEMA = schemathesis.openapi.from_dict(_openapi())
OPERATIONS = [
    op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
    if ACCESS_TAGS & set(op.definition.raw.get("tags") or [])
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """A server with one workspace and its owner (whose user id is returned alongside)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("access-fuzz") / "data")
    settings.data_dir.mkdir(parents=True)
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "fuzz")
        owner, _ = create_user(
            s, "owner@fuzz.example", workspace_id=ws.id, role="owner", password="owner pass 1"
        )
        create_user(s, "member@fuzz.example", workspace_id=ws.id, role="analyst")
        owner_id = owner.id
    db.close()
    uv, thread, port = _start(settings)
    state = uv.config.app.state.opsloop  # type: ignore[attr-defined]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, settings, state, ws), owner_id
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


def _owner_token(server: LiveServer, owner_id: int) -> str:
    with server.app_state.db.session() as s:
        s.execute(
            update(Membership)
            .where(Membership.user_id == owner_id, Membership.workspace_id == server.workspace.id)
            .values(role="owner")
        )
        return create_token(s, server.workspace.id, owner_id, "fuzz").token


def test_the_walk_covers_the_access_routes() -> None:
    assert {op.label for op in OPERATIONS} >= {
        "GET /api/v1/me",
        "POST /api/v1/members",
        "DELETE /api/v1/tokens/{token_id}",
        "POST /api/v1/workspace/ingest-key/rotate",
        "GET /api/v1/audit",
    }


@pytest.mark.parametrize("label", [op.label for op in OPERATIONS])
@settings(QUICK, max_examples=15)
@given(data=st.data())
def test_access_operations_answer_as_documented(
    server: tuple[LiveServer, int], label: str, data: st.DataObject
) -> None:
    live, owner_id = server
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    mode = data.draw(st.sampled_from(GenerationMode), label="mode")
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    headers = {"Authorization": f"Bearer {_owner_token(live, owner_id)}"}
    response = case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
    assert response.status_code != 401, response.text
    assert_well_formed(httpx.Response(response.status_code, content=response.content))
