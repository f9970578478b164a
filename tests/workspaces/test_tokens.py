"""API tokens of users on SQLite and PostgreSQL: shown once, stored hashed, named, listed with
their last use, revocable by their owner or an admin, never across workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.service import create_user
from opsloop.audit import list_entries
from opsloop.db import open_database
from opsloop.errors import Forbidden, InvalidInput, NotFound
from opsloop.workspaces.models import ApiToken
from opsloop.workspaces.service import create_workspace, hash_token, resolve_api_token
from opsloop.workspaces.tokens import create_token, list_tokens, revoke_token


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.close()


def test_a_token_is_shown_once_and_stored_hashed(session: Session) -> None:
    ws = create_workspace(session, "shop")
    user, _ = create_user(session, "a@example.com", workspace_id=ws.id, role="analyst")
    made = create_token(session, ws.id, user.id, "  notebook  ")
    assert made.token.startswith("olt_") and len(made.token) > 40
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert hash_token(made.token) in stored
    assert all(made.token not in h for h in stored)
    assert (made.info.name, made.info.prefix, made.info.role, made.info.user_email) == (
        "notebook",
        made.token[:10] + "…",
        "analyst",
        "a@example.com",
    )
    assert made.info.last_used_at is None
    ref = resolve_api_token(session, made.token)
    assert ref is not None and ref.role == "analyst"
    listed = list_tokens(session, ws.id, user_id=user.id)
    assert [(t.id, t.name) for t in listed] == [(made.info.id, "notebook")]
    used = listed[0].last_used_at
    assert used is not None and abs(used - datetime.now(UTC)) < timedelta(minutes=5)
    # The workspace's own token is listed for admins (no user), with its fixed role.
    assert [(t.name, t.user_email, t.role) for t in list_tokens(session, ws.id)] == [
        ("notebook", "a@example.com", "analyst"),
        ("workspace", None, "admin"),
    ]
    for name in ("", " ", "x" * 201):
        with pytest.raises(InvalidInput) as err:
            create_token(session, ws.id, user.id, name)
        assert err.value.field == "name"
    with pytest.raises(InvalidInput):
        create_token(session, ws.id, user.id, "x", cap="god")


def test_only_members_get_tokens_and_only_in_their_workspace(session: Session) -> None:
    shop, blog = create_workspace(session, "shop"), create_workspace(session, "blog")
    user, _ = create_user(session, "a@example.com", workspace_id=shop.id, role="admin")
    with pytest.raises(NotFound):
        create_token(session, blog.id, user.id, "sneaky")
    made = create_token(session, shop.id, user.id, "mine")
    ref = resolve_api_token(session, made.token)
    assert ref is not None and ref.workspace.id == shop.id


def test_revoking_own_and_others_tokens(session: Session) -> None:
    shop, blog = create_workspace(session, "shop"), create_workspace(session, "blog")
    alice, _ = create_user(session, "alice@example.com", workspace_id=shop.id, role="viewer")
    bob, _ = create_user(session, "bob@example.com", workspace_id=shop.id, role="admin")
    carol, _ = create_user(session, "carol@example.com", workspace_id=blog.id, role="owner")
    a = create_token(session, shop.id, alice.id, "a")
    b = create_token(session, shop.id, bob.id, "b")
    c = create_token(session, blog.id, carol.id, "c")
    with pytest.raises(Forbidden):
        revoke_token(session, shop.id, b.info.id, user_id=alice.id, any_user=False)
    # Another workspace's token is not found, even for its owner role elsewhere.
    with pytest.raises(NotFound):
        revoke_token(session, shop.id, c.info.id, user_id=bob.id, any_user=True)
    revoke_token(session, shop.id, a.info.id, user_id=alice.id, any_user=False)
    revoke_token(session, shop.id, b.info.id, user_id=alice.id, any_user=True)
    assert [resolve_api_token(session, t.token) for t in (a, b)] == [None, None]
    assert resolve_api_token(session, c.token) is not None
    with pytest.raises(NotFound):
        revoke_token(session, shop.id, a.info.id, user_id=alice.id, any_user=False)
    page, _ = list_entries(session, shop.id)
    assert [(e.action, e.entity_id, (e.before or e.after or {}).get("name")) for e in page][:4] == [
        ("token.revoked", str(b.info.id), "b"),
        ("token.revoked", str(a.info.id), "a"),
        ("token.created", str(b.info.id), "b"),
        ("token.created", str(a.info.id), "a"),
    ]
