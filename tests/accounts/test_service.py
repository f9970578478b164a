"""Console users on SQLite and PostgreSQL: creation, memberships, passwords, tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from opsloop.accounts.models import User
from opsloop.accounts.service import (
    MembershipRef,
    authenticate,
    change_password,
    create_user,
    create_user_token,
    has_role,
    memberships_of,
    password_fingerprint,
    set_language,
)
from opsloop.audit import list_entries
from opsloop.db import open_database
from opsloop.errors import InvalidInput, NotFound
from opsloop.workspaces.service import (
    CreatedWorkspace,
    TokenRef,
    WorkspaceRef,
    create_workspace,
    resolve_api_token,
)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.close()


def _ref(ws: CreatedWorkspace) -> WorkspaceRef:
    return WorkspaceRef(ws.id, ws.name, ws.timezone, ws.ingest_key)


def test_a_new_user_gets_a_generated_password(session: Session) -> None:
    ws = create_workspace(session, "shop")
    user, password = create_user(session, " Li.Lei@Example.COM ", workspace_id=ws.id, role="viewer")
    assert password is not None and len(password) >= 12
    assert (user.email, user.language) == ("li.lei@example.com", "zh-CN")
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert authenticate(session, "LI.LEI@example.com", password) is user
    assert authenticate(session, "li.lei@example.com", password + "x") is None
    assert authenticate(session, "nobody@example.com", password) is None
    assert memberships_of(session, user.id) == [MembershipRef(_ref(ws), "viewer")]


def test_an_existing_user_gets_memberships_and_roles(session: Session) -> None:
    shop = create_workspace(session, "shop")
    blog = create_workspace(session, "blog", "UTC")
    user, _ = create_user(
        session, "a@example.com", workspace_id=shop.id, role="viewer", password="first password"
    )
    again, generated = create_user(session, "a@example.com", workspace_id=blog.id, role="analyst")
    assert (again.id, generated) == (user.id, None)
    # The password stays unless a new one is given.
    assert authenticate(session, "a@example.com", "first password") is user
    create_user(
        session, "a@example.com", workspace_id=shop.id, role="owner", password="second password"
    )
    assert authenticate(session, "a@example.com", "first password") is None
    assert authenticate(session, "a@example.com", "second password") is user
    assert memberships_of(session, user.id) == [
        MembershipRef(_ref(shop), "owner"),
        MembershipRef(_ref(blog), "analyst"),
    ]
    assert session.query(User).count() == 1


@pytest.mark.parametrize(
    ("email", "role", "password", "field"),
    [
        ("not-an-email", "viewer", None, "email"),
        ("a@b", "viewer", None, "email"),
        ("a b@c.com", "viewer", None, "email"),
        ("a@example.com", "superuser", None, "role"),
        ("a@example.com", "viewer", "short", "password"),
    ],
)
def test_bad_input_is_refused_by_field(
    session: Session, email: str, role: str, password: str | None, field: str
) -> None:
    ws = create_workspace(session, "shop")
    with pytest.raises(InvalidInput) as err:
        create_user(session, email, workspace_id=ws.id, role=role, password=password)
    assert err.value.field == field
    assert session.query(User).count() == 0


def test_an_unknown_workspace_is_refused(session: Session) -> None:
    with pytest.raises(NotFound) as err:
        create_user(session, "a@example.com", workspace_id=999, role="viewer")
    assert err.value.field == "workspace"


def test_a_user_token_carries_the_users_role(session: Session) -> None:
    ws = create_workspace(session, "shop")
    other = create_workspace(session, "blog")
    user, _ = create_user(session, "ops@example.com", workspace_id=ws.id, role="operator")
    token = create_user_token(session, "OPS@example.com", ws.id)
    ref = resolve_api_token(session, token)
    assert ref is not None
    assert ref == TokenRef(
        _ref(ws), user.id, "operator", ref.id, token[:10], "cli", "ops@example.com"
    )
    with pytest.raises(NotFound) as err:
        create_user_token(session, "ops@example.com", other.id)
    assert err.value.field == "workspace"
    with pytest.raises(NotFound) as err:
        create_user_token(session, "ghost@example.com", ws.id)
    assert err.value.field == "user"


def test_language_is_one_of_the_two(session: Session) -> None:
    ws = create_workspace(session, "shop")
    user, _ = create_user(session, "a@example.com", workspace_id=ws.id, role="viewer")
    set_language(session, user.id, "en")
    assert user.language == "en"
    with pytest.raises(InvalidInput):
        set_language(session, user.id, "fr")


def test_roles_are_ordered() -> None:
    roles = ["viewer", "analyst", "operator", "admin", "owner"]
    assert [[has_role(r, m) for m in roles] for r in roles] == [
        [i >= j for j in range(5)] for i in range(5)
    ]


def test_change_password_checks_the_current_one(session: Session) -> None:
    ws = create_workspace(session, "shop")
    other = create_workspace(session, "blog")
    user, _ = create_user(
        session, "a@example.com", workspace_id=ws.id, role="viewer", password="first pass"
    )
    create_user(session, "a@example.com", workspace_id=other.id, role="admin")
    before = password_fingerprint(user)
    for current, new, field in (
        ("wrong pass", "second pass", "current_password"),
        ("first pass", "short", "new_password"),
        ("first pass", "first pass", "new_password"),
    ):
        with pytest.raises(InvalidInput) as err:
            change_password(session, user.id, current, new)
        assert err.value.field == field
    assert authenticate(session, "a@example.com", "first pass") is user
    change_password(session, user.id, "first pass", "second pass")
    assert password_fingerprint(user) != before
    assert authenticate(session, "a@example.com", "first pass") is None
    assert authenticate(session, "a@example.com", "second pass") is user
    # Both workspaces' admins see it in their audit log; the password itself is nowhere.
    for workspace in (ws, other):
        page, _ = list_entries(session, workspace.id)
        assert (page[0].action, page[0].after) == (
            "user.password_changed",
            {"email": "a@example.com"},
        )
        assert all("first pass" not in str(e.to_dict()) for e in page)
        assert all("second pass" not in str(e.to_dict()) for e in page)
