"""Workspaces and tokens on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from opsloop.audit import list_entries
from opsloop.db import open_database
from opsloop.errors import Conflict, InvalidInput
from opsloop.workspaces import service


def test_create_find_and_list(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with db.session() as s:
            created = service.create_workspace(s, "shop", "Europe/Berlin")
        with db.session() as s:
            assert service.workspace_for_ingest_key(s, created.ingest_key) == service.WorkspaceRef(
                created.id, "shop", "Europe/Berlin", created.ingest_key
            )
            token = service.resolve_api_token(s, created.api_token)
            assert token is not None and token.workspace.id == created.id
            assert token.role == "admin"
            assert service.resolve_api_token(s, created.api_token + "x") is None
            assert service.workspace_for_ingest_key(s, "nope") is None
            assert [w.name for w in service.list_workspaces(s)] == ["shop"]
            assert service.get_workspace(s, "shop") == service.get_workspace(s, created.id)
    finally:
        db.close()


def test_bad_names_and_zones_are_refused(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with db.session() as s:
            service.create_workspace(s, "shop")
        with pytest.raises(Conflict), db.session() as s:
            service.create_workspace(s, "shop")
        with pytest.raises(InvalidInput) as exc, db.session() as s:
            service.create_workspace(s, "other", "Mars/Olympus")
        assert exc.value.field == "timezone"
        with pytest.raises(InvalidInput), db.session() as s:
            service.create_workspace(s, "  ")
    finally:
        db.close()


def test_migrations_are_idempotent(database_url: str) -> None:
    open_database(database_url).close()
    db = open_database(database_url)
    with db.session() as s:
        assert service.list_workspaces(s) == []
    db.close()


def test_rename_change_zone_and_rotate_the_ingest_key(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with db.session() as s:
            shop = service.create_workspace(s, "shop")
            service.create_workspace(s, "blog")
        with db.session() as s:
            ref = service.update_workspace(s, shop.id, name=" Shop CN ", timezone="UTC")
            assert (ref.name, ref.timezone) == ("Shop CN", "UTC")
            rotated = service.rotate_ingest_key(s, shop.id)
        assert rotated.ingest_key != shop.ingest_key and rotated.ingest_key.startswith("phc_")
        with db.session() as s:
            assert service.workspace_for_ingest_key(s, shop.ingest_key) is None
            assert service.workspace_for_ingest_key(s, rotated.ingest_key) == rotated
        for kwargs, error, field in (
            ({"name": "blog"}, Conflict, "name"),
            ({"name": "  "}, InvalidInput, "name"),
            ({"timezone": "Mars/Olympus"}, InvalidInput, "timezone"),
        ):
            with pytest.raises(error) as err, db.session() as s:
                service.update_workspace(s, shop.id, **kwargs)  # type: ignore[arg-type]
            assert err.value.field == field
        with db.session() as s:
            assert service.get_workspace(s, shop.id) == rotated
            page, _ = list_entries(s, shop.id)
        assert [(e.action, e.before, e.after) for e in reversed(page)] == [
            ("workspace.created", None, {"name": "shop", "timezone": "Asia/Shanghai"}),
            (
                "workspace.updated",
                {"name": "shop", "timezone": "Asia/Shanghai"},
                {"name": "Shop CN", "timezone": "UTC"},
            ),
            (
                "ingest_key.rotated",
                {"ingest_key": shop.ingest_key[:10] + "…"},
                {"ingest_key": rotated.ingest_key[:10] + "…"},
            ),
        ]
    finally:
        db.close()
