"""`opsloop workspace create|list`."""

from __future__ import annotations

from typing import Annotated

import typer

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
from opsloop.workspaces import service

app = typer.Typer(help="Workspaces: one product's data each", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Workspace name")],
    timezone: Annotated[
        str, typer.Option("--timezone", help="Sets day boundaries for every analysis")
    ] = "Asia/Shanghai",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace and print its id, ingest key and API token."""
    settings = settings_for(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with errors_as_exit():
        db = open_database(settings.resolved_database_url)
        try:
            with db.session() as s:
                acting_as(s, cli_who())
                ws = service.create_workspace(s, name, timezone)
        finally:
            db.close()
    if as_json:
        print_json({"id": ws.id, "ingest_key": ws.ingest_key, "api_token": ws.api_token})
    else:
        out_console.print(f"workspace [bold]{ws.name}[/] (id {ws.id}, {ws.timezone})")
        out_console.print(f"ingest key: {ws.ingest_key}")
        out_console.print(f"API token:  {ws.api_token}  (shown once)")


@app.command("list")
def list_(data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """List workspaces."""
    settings = settings_for(data_dir)
    with errors_as_exit():
        db = open_database(settings.resolved_database_url)
        try:
            with db.session() as s:
                rows = service.list_workspaces(s)
        finally:
            db.close()
    if as_json:
        print_json([{"id": w.id, "name": w.name, "timezone": w.timezone} for w in rows])
    else:
        for w in rows:
            out_console.print(f"{w.id}\t{w.name}\t{w.timezone}")
