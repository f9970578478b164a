"""`opsloop user create` and `opsloop token create`: console users and their API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from opsloop.accounts.models import ROLES
from opsloop.accounts.service import create_user, create_user_token
from opsloop.audit import acting_as, cli_who
from opsloop.cli.common import (
    DataDirOpt,
    JsonOpt,
    errors_as_exit,
    out_console,
    print_json,
    settings_for,
)
from opsloop.db import open_database
from opsloop.errors import NotFound
from opsloop.workspaces.service import WorkspaceRef, get_workspace

app = typer.Typer(help="Console users and their roles in workspaces", no_args_is_help=True)
token_app = typer.Typer(help="API tokens acting as a user", no_args_is_help=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", help="Workspace id or name")]


@contextmanager
def _session(data_dir: DataDirOpt) -> Iterator[Session]:
    settings = settings_for(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            acting_as(s, cli_who())
            yield s
    finally:
        db.close()


def _workspace(session: Session, key: str) -> WorkspaceRef:
    ws = get_workspace(session, key)
    if ws is None:
        raise NotFound(f"no workspace has the id or name {key!r}", field="workspace")
    return ws


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The user's email, used to sign in")],
    workspace: WorkspaceOpt,
    role: Annotated[str, typer.Option("--role", help=" | ".join(ROLES))],
    password: Annotated[
        str | None,
        typer.Option("--password", help="Default: a generated one, printed once"),
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a console user in a workspace, or add an existing user to it (or change their
    role there)."""
    with errors_as_exit(), _session(data_dir) as s:
        ws = _workspace(s, workspace)
        user, generated = create_user(s, email, workspace_id=ws.id, role=role, password=password)
        user_id, user_email = user.id, user.email
    if as_json:
        print_json(
            {
                "id": user_id,
                "email": user_email,
                "workspace_id": ws.id,
                "role": role,
                "password": generated,
            }
        )
        return
    out_console.print(f"{user_email} is {role} in workspace [bold]{ws.name}[/]", highlight=False)
    if generated is not None:
        out_console.print(f"password: {generated}  (shown once)", highlight=False)


@token_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", help="The user's email")],
    workspace: WorkspaceOpt,
    name: Annotated[str, typer.Option("--name", help="What the token is for")] = "cli",
    role: Annotated[
        str,
        typer.Option("--role", help="At most this role (default: whatever the user's role is)"),
    ] = "owner",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token acting as a user, with the user's role in the workspace (or less,
    with --role). It stops working when the user leaves the workspace."""
    with errors_as_exit(), _session(data_dir) as s:
        ws = _workspace(s, workspace)
        token = create_user_token(s, user, ws.id, name=name, cap=role)
    if as_json:
        print_json({"token": token})
    else:
        out_console.print(f"API token: {token}  (shown once)", highlight=False)
