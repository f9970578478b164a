"""`opsloop user create` and `opsloop token create` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsloop.accounts.service import authenticate, memberships_of
from opsloop.audit import list_entries
from opsloop.cli.main import app
from opsloop.db import open_database
from opsloop.settings import Settings
from opsloop.workspaces.service import resolve_api_token

runner = CliRunner()


def _workspace(d: str, name: str) -> int:
    r = runner.invoke(app, ["workspace", "create", name, "--json", "--data-dir", d])
    assert r.exit_code == 0, r.output
    return int(json.loads(r.stdout)["id"])


def test_create_user_prints_a_generated_password(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    shop = _workspace(d, "shop")
    blog = _workspace(d, "blog")
    r = runner.invoke(
        app,
        [
            "user",
            "create",
            "Ops@Example.com",
            "--workspace",
            "shop",
            "--role",
            "operator",
            "--json",
            "--data-dir",
            d,
        ],
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    password = created.pop("password")
    expected = {"id": 1, "email": "ops@example.com", "workspace_id": shop, "role": "operator"}
    assert created == expected
    # Adding the same user to another workspace (by id) keeps the password.
    r = runner.invoke(
        app,
        [
            "user",
            "create",
            "ops@example.com",
            "--workspace",
            str(blog),
            "--role",
            "viewer",
            "--data-dir",
            d,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "password" not in r.stdout
    db = open_database(Settings(data_dir=Path(d)).resolved_database_url)
    try:
        with db.session() as s:
            user = authenticate(s, "ops@example.com", password)
            assert user is not None
            assert [(m.workspace.name, m.role) for m in memberships_of(s, user.id)] == [
                ("shop", "operator"),
                ("blog", "viewer"),
            ]
    finally:
        db.close()


def test_create_user_with_a_password_and_a_token(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    _workspace(d, "shop")
    r = runner.invoke(
        app,
        [
            "user",
            "create",
            "a@example.com",
            "--workspace",
            "shop",
            "--role",
            "analyst",
            "--password",
            "s3cret-enough",
            "--data-dir",
            d,
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "a@example.com is analyst in workspace shop"
    r = runner.invoke(
        app,
        [
            "token",
            "create",
            "--user",
            "a@example.com",
            "--workspace",
            "shop",
            "--json",
            "--data-dir",
            d,
        ],
    )
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert list(answer) == ["token"]
    db = open_database(Settings(data_dir=Path(d)).resolved_database_url)
    try:
        with db.session() as s:
            ref = resolve_api_token(s, answer["token"])
            assert ref is not None
            assert (ref.workspace.name, ref.user_id, ref.role) == ("shop", 1, "analyst")
            assert authenticate(s, "a@example.com", "s3cret-enough") is not None
            # The audit log names whoever ran the commands, through the CLI.
            page, _ = list_entries(s, ref.workspace.id)
            assert [(e.action, e.via, e.actor.endswith("(cli)")) for e in page[:3]] == [
                ("token.created", "cli", True),
                ("member.added", "cli", True),
                ("workspace.created", "cli", True),
            ]
    finally:
        db.close()
    # --role caps what the token may do.
    base = ["token", "create", "--user", "a@example.com", "--workspace", "shop", "--data-dir", d]
    r = runner.invoke(app, [*base, "--role", "viewer", "--json"])
    capped = json.loads(r.stdout)["token"]
    bad = runner.invoke(app, [*base, "--role", "boss"])
    assert bad.exit_code == 2 and "role must be one of" in bad.stderr
    db = open_database(Settings(data_dir=Path(d)).resolved_database_url)
    try:
        with db.session() as s:
            ref = resolve_api_token(s, capped)
            assert ref is not None and ref.role == "viewer"
    finally:
        db.close()


def test_errors_are_one_red_line_and_exit_2(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    _workspace(d, "shop")
    _workspace(d, "blog")
    runner.invoke(
        app,
        [
            "user",
            "create",
            "a@example.com",
            "--workspace",
            "shop",
            "--role",
            "viewer",
            "--data-dir",
            d,
        ],
    )
    cases = [
        (
            ["user", "create", "a@example.com", "--workspace", "shop", "--role", "root"],
            "role must be one of owner, admin, operator, analyst, viewer",
        ),
        (
            ["user", "create", "not-an-email", "--workspace", "shop", "--role", "viewer"],
            "'not-an-email' is not a valid email address",
        ),
        (
            ["user", "create", "a@example.com", "--workspace", "nowhere", "--role", "viewer"],
            "no workspace has the id or name 'nowhere'",
        ),
        (
            [
                "user",
                "create",
                "b@example.com",
                "--workspace",
                "shop",
                "--role",
                "viewer",
                "--password",
                "short",
            ],
            "a password needs at least 8 characters",
        ),
        (
            ["token", "create", "--user", "a@example.com", "--workspace", "blog"],
            "a@example.com is not a member of workspace",
        ),
        (
            ["token", "create", "--user", "ghost@example.com", "--workspace", "shop"],
            "no user has the email 'ghost@example.com'",
        ),
    ]
    for argv, message in cases:
        r = runner.invoke(app, [*argv, "--data-dir", d])
        assert r.exit_code == 2, (argv, r.output)
        assert message in r.output
        assert "Traceback" not in r.output
