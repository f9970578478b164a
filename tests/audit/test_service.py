"""The audit log on SQLite and PostgreSQL: one call records a change with who made it; pages come
back newest first, filtered, with a cursor that walks every entry once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from opsloop.audit import SYSTEM, AuditFilter, Who, acting_as, actions_in, list_entries, record
from opsloop.db import Database, open_database
from opsloop.errors import InvalidInput
from opsloop.workspaces.service import create_workspace


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    try:
        yield db
    finally:
        db.close()


ALICE = Who("alice@example.com", "console", None, "10.0.0.7")


def _entries(s: Session, ws: int, flt: AuditFilter | None = None) -> list[tuple[str, str, str]]:
    page, _ = list_entries(s, ws, flt, limit=1000)
    return [(e.action, e.actor, e.entity_id or "") for e in page]


def test_a_change_is_recorded_with_who_made_it(db: Database) -> None:
    with db.session() as s:
        ws = create_workspace(s, "shop").id
    with db.session() as s:
        acting_as(s, ALICE)
        record(
            s,
            "member.role_changed",
            workspace_id=ws,
            entity_type="member",
            entity_id=7,
            before={"email": "b@example.com", "role": "viewer"},
            after={"email": "b@example.com", "role": "analyst", "at": datetime(2026, 11, 1)},
        )
    with db.session() as s:
        page, cursor = list_entries(s, ws)
    assert cursor is None
    latest = page[0]
    assert (latest.actor, latest.via, latest.ip, latest.action, latest.entity_id) == (
        "alice@example.com",
        "console",
        "10.0.0.7",
        "member.role_changed",
        "7",
    )
    assert latest.after == {
        "email": "b@example.com",
        "role": "analyst",
        "at": "2026-11-01T00:00:00",
    }
    assert latest.changes == [("role", "viewer", "analyst"), ("at", None, "2026-11-01T00:00:00")]
    assert abs(latest.at - datetime.now(UTC)) < timedelta(minutes=5)
    # Creating the workspace was recorded too, by nobody in particular.
    assert [(e.action, e.actor, e.via) for e in page[1:]] == [
        ("workspace.created", SYSTEM.label, "system")
    ]


def test_a_change_that_changes_nothing_is_not_recorded(db: Database) -> None:
    with db.session() as s:
        ws = create_workspace(s, "shop").id
        record(s, "x.updated", workspace_id=ws, entity_type="x", before={"a": 1}, after={"a": 1})
        record(s, "x.deleted", workspace_id=ws, entity_type="x", before={"a": 1})
        assert [a for a, _, _ in _entries(s, ws)] == ["x.deleted", "workspace.created"]


def test_nothing_is_kept_when_the_change_is_rolled_back(db: Database) -> None:
    with db.session() as s:
        ws = create_workspace(s, "shop").id
    with pytest.raises(RuntimeError), db.session() as s:
        record(s, "x.created", workspace_id=ws, entity_type="x", after={"a": 1})
        raise RuntimeError("the change failed")
    with db.session() as s:
        assert [a for a, _, _ in _entries(s, ws)] == ["workspace.created"]


def test_filters_pages_and_workspaces(db: Database) -> None:
    with db.session() as s:
        shop, blog = create_workspace(s, "shop").id, create_workspace(s, "blog").id
    expected: list[tuple[str, str, str]] = []
    for i in range(23):
        who = Who(f"user{i % 3}@example.com", "api")
        action = ("member.added", "token.created", "member.removed")[i % 3]
        with db.session() as s:
            acting_as(s, who)
            record(s, action, workspace_id=shop, entity_type=action.split(".")[0], entity_id=i)
            record(s, "other.thing", workspace_id=blog, entity_type="other", entity_id=i)
        expected.append((action, who.label, str(i)))
    expected.reverse()
    expected.append(("workspace.created", "system", str(shop)))
    with db.session() as s:
        # Every entry once, newest first, page by page.
        seen: list[tuple[str, str, str]] = []
        cursor = None
        while True:
            page, cursor = list_entries(s, shop, limit=5, before_id=cursor)
            seen += [(e.action, e.actor, e.entity_id or "") for e in page]
            if cursor is None:
                break
        assert seen == expected
        assert _entries(s, shop, AuditFilter(action="member.added")) == [
            e for e in expected if e[0] == "member.added"
        ]
        assert _entries(s, shop, AuditFilter(action="member.")) == [
            e for e in expected if e[0].startswith("member.")
        ]
        assert _entries(s, shop, AuditFilter(actor="USER1")) == [
            e for e in expected if e[1] == "user1@example.com"
        ]
        assert _entries(s, shop, AuditFilter(entity_type="token", entity_id="4")) == [
            ("token.created", "user1@example.com", "4")
        ]
        # A % in the actor filter is a character, not a wildcard.
        assert _entries(s, shop, AuditFilter(actor="%")) == []
        future = datetime.now(UTC) + timedelta(days=1)
        assert _entries(s, shop, AuditFilter(after=future)) == []
        assert _entries(s, shop, AuditFilter(before=future)) == expected
        assert actions_in(s, shop) == [
            "member.added",
            "member.removed",
            "token.created",
            "workspace.created",
        ]
        assert {a for a, _, _ in _entries(s, blog)} == {"other.thing", "workspace.created"}
        with pytest.raises(InvalidInput) as err:
            list_entries(s, shop, limit=0)
        assert err.value.field == "limit"
