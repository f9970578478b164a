"""Settings → Members on SQLite and PostgreSQL: admins add, re-role and remove members; owners
alone touch the owner role; a workspace keeps an owner; the table exports."""

from __future__ import annotations

import io
import re

import openpyxl

from opsloop.accounts.service import authenticate
from opsloop.db import open_database
from tests.web.access_world import World
from tests.web.html import marked_texts, table_rows

ROLE_ZH = {
    "owner": "所有者",
    "admin": "管理员",
    "operator": "运营",
    "analyst": "分析师",
    "viewer": "只读成员",
}


def _roles(world: World) -> dict[str, str]:
    rows = world.api(world.members["owner"].token, "GET", "/api/v1/members").json()
    return {m["email"]: m["role"] for m in rows}


def test_admins_add_members_and_see_the_password_once(world: World) -> None:
    admin = world.members["admin"]
    r = world.form(
        admin, "/settings/members", {"email": "New.Hire@Shop.example", "role": "operator"}
    )
    assert r.status_code == 200
    assert marked_texts(r.text, "member-added")[0].startswith(
        "new.hire@shop.example 已成为成员，角色为运营。"
    )
    password = marked_texts(r.text, "new-password")[0]
    db = open_database(world.settings.resolved_database_url, run_migrations=False)
    try:
        with db.session() as s:
            assert authenticate(s, "new.hire@shop.example", password) is not None
    finally:
        db.close()
    assert password not in world.page(admin, "/settings/members").text
    again = world.form(
        admin, "/settings/members", {"email": "new.hire@shop.example", "role": "viewer"}
    )
    assert (again.status_code, marked_texts(again.text, "members-error")) == (
        409,
        ["此人已是成员：请改为修改其角色。"],
    )
    bad = world.form(admin, "/settings/members", {"email": "nope", "role": "viewer"})
    assert marked_texts(bad.text, "members-error") == ["请输入有效的邮箱地址。"]
    assert 'value="nope"' in bad.text  # what was typed stays in the form
    owner_by_admin = world.form(
        admin, "/settings/members", {"email": "x@shop.example", "role": "owner"}
    )
    assert marked_texts(owner_by_admin.text, "members-error") == [
        "只有所有者可以授予或取消所有者角色。"
    ]
    assert _roles(world)["new.hire@shop.example"] == "operator"
    assert "x@shop.example" not in _roles(world)


def test_the_members_table_and_its_role_controls(world: World) -> None:
    admin, owner = world.members["admin"], world.members["owner"]
    page = world.page(admin, "/settings/members")
    rows = table_rows(page.text, "members-table")
    assert [r[0] for r in rows] == [
        "owner@shop.example",
        "admin@shop.example (你)",
        "analyst@shop.example",
        "operator@shop.example",
        "victim@shop.example",
        "viewer@shop.example",
    ]
    # An admin cannot change or remove the owner, nor offer the owner role.
    owner_row = page.text[page.text.index('data-member="owner@shop.example"') :]
    owner_row = owner_row[: owner_row.index("</tr>")]
    assert "role-select" not in owner_row and "member-remove" not in owner_row
    assert '<option value="owner"' not in page.text
    assert '<option value="owner"' in world.page(owner, "/settings/members").text
    # The roles table says what the permission table says.
    matrix = table_rows(page.text, "roles-matrix")
    assert matrix[0] == ["查看事件、分析和看板；下载表格", "✓", "✓", "✓", "✓", "✓"]
    assert matrix[-1] == ["将成员设为所有者或取消所有者角色", "✓", "—", "—", "—", "—"]


def test_change_a_role_and_remove_a_member(world: World) -> None:
    admin, owner = world.members["admin"], world.members["owner"]
    victim = world.victim
    assert victim is not None
    r = world.form(admin, f"/settings/members/{victim.user_id}/role", {"role": "analyst"})
    assert (r.status_code, r.headers["location"]) == (303, "/settings/members?done=role_changed")
    assert _roles(world)["victim@shop.example"] == "analyst"
    assert world.api(victim.token, "GET", "/api/v1/me").json()["role"] == "analyst"
    # The last owner keeps the role, even when they try to drop it themselves.
    last = world.form(owner, f"/settings/members/{owner.user_id}/role", {"role": "admin"})
    assert (last.status_code, marked_texts(last.text, "members-error")) == (
        409,
        ["工作空间必须有所有者：请先将另一位成员设为所有者。"],
    )
    gone = world.form(admin, f"/settings/members/{victim.user_id}/remove", {})
    assert (gone.status_code, gone.headers["location"]) == (303, "/settings/members?done=removed")
    assert "victim@shop.example" not in _roles(world)
    assert world.api(victim.token, "GET", "/api/v1/me").status_code == 401
    notice = marked_texts(world.page(admin, "/settings/members?done=removed").text, "notice")
    assert notice == ["成员已移除，其在此工作空间的 API 令牌已吊销。"]
    missing = world.form(admin, f"/settings/members/{victim.user_id}/remove", {})
    assert missing.status_code == 404


def test_members_export(world: World) -> None:
    admin = world.members["admin"]
    world.as_session(admin)
    csv = world.client.get("/settings/members/export.csv")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "email,role,language,joined_at"
    got = sorted(tuple(line.split(",")[:3]) for line in lines[1:])
    want = sorted(
        (m.email, ROLE_ZH[m.role], "zh-CN")
        for m in [*world.members.values(), world.victim]
        if m and m.workspace_id == world.a.id
    )
    assert got == want
    xlsx = world.client.get("/settings/members/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.title == "成员"
    values = list(sheet.iter_rows(values_only=True))
    assert [v[:3] for v in values[1:]] == [tuple(re.split(",", line)[:3]) for line in lines[1:]]
