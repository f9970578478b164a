"""Settings → Audit log on SQLite and PostgreSQL: admins see changes with who, what and the
values before and after; filters, paging and exports agree with the REST answer."""

from __future__ import annotations

import io
import re

import openpyxl

from tests.web.access_world import World
from tests.web.html import marked_texts, table_rows


def test_a_role_change_shows_before_and_after(world: World) -> None:
    admin, owner = world.members["admin"], world.members["owner"]
    victim = world.victim
    assert victim is not None
    world.form(admin, f"/settings/members/{victim.user_id}/role", {"role": "operator"})
    page = world.page(owner, "/settings/audit?action=member.role_changed")
    rows = table_rows(page.text, "audit-table")
    assert len(rows) == 1
    _, actor, action, what, changes, through = rows[0]
    assert (actor, action) == ("admin@shop.example", "修改角色")
    assert what.startswith("victim@shop.example member #")
    assert changes == "role : viewer → operator"
    assert through == "控制台 127.0.0.1"


def test_filters_paging_and_exports_agree_with_rest(world: World) -> None:
    admin = world.members["admin"]
    for i in range(60):
        world.api(admin.token, "POST", "/api/v1/tokens", json={"name": f"t{i}"})
    rest = world.api(admin.token, "GET", "/api/v1/audit", params={"limit": 1000}).json()["results"]
    ids: list[str] = []
    url: str | None = "/settings/audit"
    while url:
        page = world.page(admin, url)
        ids += list(re.findall(r'data-entry="(\d+)"', page.text))
        older = re.search(r'href="([^"]+)" data-testid="audit-older"', page.text)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert ids == [str(e["id"]) for e in rest]
    tokens = world.page(admin, "/settings/audit?action=token.created&actor=ADMIN")
    assert marked_texts(tokens.text, "audit-action") == ["创建 API 令牌"] * 50
    world.as_session(admin)
    xlsx = world.client.get("/settings/audit/export.xlsx?action=token.created")
    assert xlsx.status_code == 200, xlsx.text[:400]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("at", "actor", "via", "ip", "action", "description")
    assert [r[4] for r in rows[1:]] == [e["action"] for e in rest if e["action"] == "token.created"]
    assert len(rows) == 1 + 60 + 6  # the members' own tokens were made too
    bad = world.page(admin, "/settings/audit?from=yesterday")
    assert bad.status_code == 400


def test_below_admin_the_audit_log_is_a_403_page(world: World) -> None:
    for role in ("operator", "viewer"):
        world.as_session(world.members[role])
        r = world.client.get("/settings/audit", headers={"Accept": "text/html"})
        assert r.status_code == 403
        assert (
            "无权访问" in r.text or "没有权限" in r.text or "此页面需要管理员或更高角色" in r.text
        )
