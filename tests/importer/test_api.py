"""POST /api/v1/import/batches and GET /api/v1/imports over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow as pa

from opsloop.events.schema import EVENT_ARROW_SCHEMA
from opsloop.importer.sink import ARROW_STREAM
from opsloop.workspaces.service import create_api_token
from tests.conftest import LiveServer

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
IDS = [str(uuid.UUID(int=i + 1)) for i in range(3)]


def batch(**overrides: list[Any]) -> pa.Table:
    n = len(IDS)
    columns: dict[str, list[Any]] = {
        "uuid": IDS,
        "workspace_id": [999] * n,  # bound to the token's workspace whatever is sent
        "event": ["pay", "pay", "view"],
        "distinct_id": ["u1", "u2", "u1"],
        "timestamp": [T0] * n,
        "received_at": [T0] * n,
        "properties": ['{"amount":1.5}', "{}", '{"page":"首页"}'],
        "session_id": [None] * n,
        "lib": [None] * n,
        "os": [None] * n,
        "url": [None] * n,
        "source": ["import"] * n,
    }
    columns.update(overrides)
    return pa.Table.from_pydict(columns, schema=EVENT_ARROW_SCHEMA)


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def post(
    live_server: LiveServer, body: bytes, token: str | None = None, ctype: str = ARROW_STREAM
) -> httpx.Response:
    headers = {"Content-Type": ctype}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{live_server.url}/api/v1/import/batches", content=body, headers=headers)


def error(answer: httpx.Response) -> tuple[int, str, str | None]:
    body = answer.json()["error"]
    return answer.status_code, body["code"], body["field"]


def test_a_batch_is_stored_once_in_the_tokens_workspace(live_server: LiveServer) -> None:
    token = live_server.workspace.api_token
    first = post(live_server, ipc(batch()), token)
    again = post(live_server, ipc(batch()), token)
    assert (first.status_code, first.json()) == (200, {"accepted": 3, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"accepted": 0, "duplicates": 3})
    store = live_server.app_state.store
    page, _ = store.list_events(live_server.workspace.id, limit=10)
    assert sorted(
        (e["uuid"], e["event"], e["distinct_id"], str(e["properties"])) for e in page
    ) == [
        (IDS[0], "pay", "u1", "{'amount': 1.5}"),
        (IDS[1], "pay", "u2", "{}"),
        (IDS[2], "view", "u1", "{'page': '首页'}"),
    ]
    assert store.count_events(999) == 0


def test_refused_batches_get_clear_4xx_answers(live_server: LiveServer) -> None:
    token = live_server.workspace.api_token
    with live_server.app_state.db.session() as s:
        viewer = create_api_token(
            s, live_server.workspace.id, user_id=None, name="viewer", role="viewer"
        )
    good = ipc(batch())
    assert error(post(live_server, good)) == (401, "unauthorized", "Authorization")
    assert error(post(live_server, good, viewer)) == (403, "forbidden", "Authorization")
    assert error(post(live_server, good, token, "application/json")) == (
        415,
        "unsupported_media_type",
        "Content-Type",
    )
    assert error(post(live_server, b"not arrow", token)) == (400, "invalid_input", "body")
    no_event = ipc(batch().drop_columns(["event"]))
    assert error(post(live_server, no_event, token)) == (400, "invalid_input", "event")
    bad_id = ipc(batch(uuid=["x", IDS[1], IDS[2]]))
    assert error(post(live_server, bad_id, token)) == (400, "invalid_input", "uuid")
    empty_user = ipc(batch(distinct_id=["u1", None, "u3"]))
    assert error(post(live_server, empty_user, token)) == (400, "invalid_input", "distinct_id")
    bad_json = ipc(batch(properties=["{", "{}", "{}"]))
    assert error(post(live_server, bad_json, token)) == (400, "invalid_input", "body")
    assert live_server.app_state.store.count_events() == 0


def test_recent_imports_are_listed_newest_first(live_server: LiveServer) -> None:
    token = live_server.workspace.api_token
    answer = httpx.get(
        f"{live_server.url}/api/v1/imports", headers={"Authorization": f"Bearer {token}"}
    )
    assert (answer.status_code, answer.json()) == (200, [])
