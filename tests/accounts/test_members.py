"""Members of a workspace on SQLite and PostgreSQL: adding new and existing users, changing roles,
removing; owners stay in charge of the owner role and a workspace keeps an owner; every change
is in the audit log with who made it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from opsloop.accounts.members import add_member, change_role, list_members, remove_member
from opsloop.accounts.service import authenticate, create_user
from opsloop.audit import Who, acting_as, list_entries
from opsloop.db import open_database
from opsloop.errors import Conflict, Forbidden, InvalidInput, NotFound
from opsloop.workspaces.service import create_workspace, resolve_api_token
from opsloop.workspaces.tokens import create_token, list_tokens


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            acting_as(s, Who("boss@example.com", "console", None, "127.0.0.1"))
            yield s
    finally:
        db.close()


def _roster(s: Session, ws: int) -> list[tuple[str, str]]:
    return [(m.email, m.role) for m in list_members(s, ws)]


def _log(s: Session, ws: int) -> list[tuple[str, object, object]]:
    page, _ = list_entries(s, ws, limit=100)
    return [(e.action, e.before, e.after) for e in reversed(page) if e.entity_type == "member"]


def test_add_a_new_user_and_an_existing_one(session: Session) -> None:
    shop, blog = create_workspace(session, "shop").id, create_workspace(session, "blog").id
    added = add_member(session, shop, " New@Example.com ", "analyst", acting_role="admin")
    assert added.password is not None
    assert authenticate(session, "new@example.com", added.password) is not None
    existing, _ = create_user(session, "old@example.com", workspace_id=blog, role="viewer")
    again = add_member(session, shop, "old@example.com", "operator", acting_role="admin")
    assert again.password is None  # they keep their password
    assert again.member.user_id == existing.id
    assert _roster(session, shop) == [
        ("new@example.com", "analyst"),
        ("old@example.com", "operator"),
    ]
    assert _roster(session, blog) == [("old@example.com", "viewer")]
    with pytest.raises(Conflict) as err:
        add_member(session, shop, "old@example.com", "viewer", acting_role="admin")
    assert err.value.field == "email"
    for email, role, field in (("nope", "viewer", "email"), ("a@example.com", "boss", "role")):
        with pytest.raises(InvalidInput) as bad:
            add_member(session, shop, email, role, acting_role="admin")
        assert bad.value.field == field
    assert _log(session, shop) == [
        ("member.added", None, {"email": "new@example.com", "role": "analyst", "new_user": True}),
        ("member.added", None, {"email": "old@example.com", "role": "operator", "new_user": False}),
    ]


def test_only_owners_give_or_take_the_owner_role(session: Session) -> None:
    shop = create_workspace(session, "shop").id
    owner, _ = create_user(session, "owner@example.com", workspace_id=shop, role="owner")
    admin, _ = create_user(session, "admin@example.com", workspace_id=shop, role="admin")
    with pytest.raises(Forbidden):
        add_member(session, shop, "x@example.com", "owner", acting_role="admin")
    with pytest.raises(Forbidden):
        change_role(session, shop, admin.id, "owner", acting_role="admin")
    with pytest.raises(Forbidden):
        change_role(session, shop, owner.id, "viewer", acting_role="admin")
    with pytest.raises(Forbidden):
        remove_member(session, shop, owner.id, acting_role="admin")
    # An owner hands over: makes the admin owner, then steps down.
    change_role(session, shop, admin.id, "owner", acting_role="owner")
    change_role(session, shop, owner.id, "admin", acting_role="owner")
    assert _roster(session, shop) == [
        ("admin@example.com", "owner"),
        ("owner@example.com", "admin"),
    ]
    # The last owner can neither step down nor be removed.
    with pytest.raises(Conflict):
        change_role(session, shop, admin.id, "admin", acting_role="owner")
    with pytest.raises(Conflict):
        remove_member(session, shop, admin.id, acting_role="owner")
    assert _roster(session, shop) == [
        ("admin@example.com", "owner"),
        ("owner@example.com", "admin"),
    ]


def test_changing_a_role_changes_what_their_tokens_do(session: Session) -> None:
    shop, blog = create_workspace(session, "shop").id, create_workspace(session, "blog").id
    user, _ = create_user(session, "ops@example.com", workspace_id=shop, role="operator")
    create_user(session, "ops@example.com", workspace_id=blog, role="viewer")
    token = create_token(session, shop, user.id, "laptop").token
    capped = create_token(session, shop, user.id, "read only", cap="viewer").token
    other = create_token(session, blog, user.id, "blog").token

    def roles() -> tuple[str | None, ...]:
        refs = [resolve_api_token(session, t) for t in (token, capped, other)]
        return tuple(r.role if r else None for r in refs)

    assert roles() == ("operator", "viewer", "viewer")
    same = change_role(session, shop, user.id, "operator", acting_role="admin")
    assert same.role == "operator"
    change_role(session, shop, user.id, "analyst", acting_role="admin")
    assert roles() == ("analyst", "viewer", "viewer")
    removed = remove_member(session, shop, user.id, acting_role="admin")
    assert removed.role == "analyst"
    # Removed from shop: their shop tokens are gone, their blog token still works.
    assert roles() == (None, None, "viewer")
    assert list_tokens(session, shop, user_id=user.id) == []
    assert _roster(session, blog) == [("ops@example.com", "viewer")]
    with pytest.raises(NotFound) as err:
        change_role(session, shop, user.id, "viewer", acting_role="admin")
    assert err.value.field == "user_id"
    with pytest.raises(NotFound):
        remove_member(session, shop, user.id, acting_role="admin")
    assert _log(session, shop)[-2:] == [
        (
            "member.role_changed",
            {"email": "ops@example.com", "role": "operator"},
            {"email": "ops@example.com", "role": "analyst"},
        ),
        ("member.removed", {"email": "ops@example.com", "role": "analyst", "api_tokens": 2}, None),
    ]


def test_members_of_another_workspace_are_not_found(session: Session) -> None:
    shop, blog = create_workspace(session, "shop").id, create_workspace(session, "blog").id
    user, _ = create_user(session, "b@example.com", workspace_id=blog, role="viewer")
    with pytest.raises(NotFound):
        change_role(session, shop, user.id, "admin", acting_role="owner")
    with pytest.raises(NotFound):
        remove_member(session, shop, user.id, acting_role="owner")
    assert _roster(session, blog) == [("b@example.com", "viewer")]
    assert _log(session, shop) == []
