"""Settings → Workspace, Ingest key and API tokens on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import openpyxl

from tests.web.access_world import World
from tests.web.html import marked_texts, table_rows

EVENT = {"event": "pay", "distinct_id": "u1"}


def test_settings_open_on_the_workspace_form(world: World) -> None:
    admin = world.members["admin"]
    r = world.page(admin, "/settings")
    assert (r.status_code, r.headers["location"]) == (303, "/settings/workspace")
    page = world.page(admin, "/settings/workspace")
    assert 'value="shop"' in page.text and 'value="Asia/Shanghai"' in page.text
    assert '<option value="Europe/Berlin">' in page.text


def test_rename_and_change_the_time_zone(world: World) -> None:
    admin = world.members["admin"]
    r = world.form(admin, "/settings/workspace", {"name": "商城", "timezone": "Europe/Berlin"})
    assert (r.status_code, r.headers["location"]) == (303, "/settings/workspace?done=saved")
    ws = world.api(admin.token, "GET", "/api/v1/workspace").json()
    assert (ws["name"], ws["timezone"]) == ("商城", "Europe/Berlin")
    page = world.page(admin, "/settings/workspace?done=saved")
    assert marked_texts(page.text, "notice") == ["工作空间设置已保存。"]
    for data, message in (
        ({"name": "blog", "timezone": "UTC"}, "已有其他工作空间使用此名称。"),
        ({"name": "x", "timezone": "Moon/Base"}, "请从列表中选择时区，例如 Asia/Shanghai。"),
        ({"name": "", "timezone": "UTC"}, "请为工作空间填写 1 到 200 个字符的名称。"),
    ):
        bad = world.form(admin, "/settings/workspace", data)
        assert bad.status_code in (400, 409)
        assert marked_texts(bad.text, "workspace-error") == [message]
    assert world.api(admin.token, "GET", "/api/v1/workspace").json()["name"] == "商城"


def test_rotate_the_ingest_key(world: World) -> None:
    admin = world.members["admin"]
    old = world.ingest_key(world.a.id)
    page = world.page(admin, "/settings/ingest")
    assert marked_texts(page.text, "ingest-key") == [old]
    assert f"posthog.init(&#39;{old}&#39;" in page.text  # the SDK snippets carry the key
    r = world.form(admin, "/settings/ingest/rotate", {})
    assert (r.status_code, r.headers["location"]) == (303, "/settings/ingest?done=rotated")
    new = world.ingest_key(world.a.id)
    assert new != old
    assert marked_texts(world.page(admin, "/settings/ingest").text, "ingest-key") == [new]
    assert world.api(old, "POST", "/api/v1/events", json=EVENT).status_code == 401
    assert world.api(new, "POST", "/api/v1/events", json=EVENT).status_code == 200


def test_admins_see_every_token_and_revoke_any(world: World) -> None:
    admin, analyst = world.members["admin"], world.members["analyst"]
    made = world.form(admin, "/settings/tokens", {"name": "ETL", "role": "viewer"})
    token = marked_texts(made.text, "new-token")[0]
    assert world.api(token, "GET", "/api/v1/me").json()["role"] == "viewer"
    rows = table_rows(world.page(admin, "/settings/tokens").text, "tokens-table")
    assert [(r[0], r[1]) for r in rows[:2]] == [
        ("ETL", "admin@shop.example"),
        ("viewer token", "victim@shop.example"),
    ]
    assert ("workspace", "工作空间令牌") in [(r[0], r[1]) for r in rows]
    assert len(rows) == 8  # six members' tokens, ETL and the workspace's own
    r = world.form(admin, f"/settings/tokens/{analyst.token_id}/revoke", {})
    assert (r.status_code, r.headers["location"]) == (303, "/settings/tokens?done=token_revoked")
    assert world.api(analyst.token, "GET", "/api/v1/me").status_code == 401
    world.as_session(admin)
    xlsx = world.client.get("/settings/tokens/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == [r[0] for r in rows if r[0] != "analyst token"]
    assert all(token not in str(row) for row in sheet.iter_rows(values_only=True))
