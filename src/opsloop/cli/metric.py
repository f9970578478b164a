"""`opsloop metric list|show|define|delete`: the metric catalog of a workspace (built-in metrics
and its own), read and written in the operational store directly (no server needed)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from sqlalchemy.orm import Session

from opsloop.analytics.catalog import service
from opsloop.audit import Who, acting_as
from opsloop.cli.common import (
    DataDirOpt,
    JsonOpt,
    errors_as_exit,
    out_console,
    print_json,
    settings_for,
)
from opsloop.db import open_database
from opsloop.errors import InvalidInput, NotFound
from opsloop.workspaces.service import WorkspaceRef, get_workspace

app = typer.Typer(help="The metric catalog: built-in and workspace metrics", no_args_is_help=True)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace id or name")]


@contextmanager
def workspace_session(data_dir: Path | None, key: str) -> Iterator[tuple[Session, WorkspaceRef]]:
    """A unit of work on the data folder's operational store, with the workspace looked up."""
    settings = settings_for(data_dir)
    if not settings.data_dir.is_dir():
        raise NotFound(f"no data folder at {settings.data_dir}", "--data-dir")
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            acting_as(s, Who(f"{getpass.getuser()} (opsloop CLI)", "cli"))
            ws = get_workspace(s, key)
            if ws is None:
                raise NotFound(f"no workspace has the id or name {key!r}", "--workspace")
            yield s, ws
    finally:
        db.close()


def read_definitions(source: str) -> list[Any]:
    """Metric definitions from a YAML or JSON file (`-`: stdin): one mapping, a list of them,
    or `metrics: [...]` as in the built-in catalog files."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}", "FILE") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not YAML or JSON: {exc}", "FILE") from None
    if isinstance(data, dict) and isinstance(data.get("metrics"), list):
        data = data["metrics"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise InvalidInput(f"{source} holds no metric definitions", "FILE")
    return items


@app.command("list")
def list_(workspace: WorkspaceOpt, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Every metric the workspace can query: built-in ones, then its own."""
    with errors_as_exit(), workspace_session(data_dir, workspace) as (s, ws):
        infos = [i.to_dict() for i in service.list_metrics(s, ws.id)]
    if as_json:
        print_json(infos)
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("key", no_wrap=True)
    table.add_column("名称 / name")
    table.add_column("kind", no_wrap=True)
    table.add_column("source", no_wrap=True)
    for i in infos:
        table.add_row(i["key"], f"{i['name']['zh-CN']} / {i['name']['en']}", i["kind"], i["source"])
    out_console.print(table)


@app.command("show")
def show(
    key: Annotated[str, typer.Argument(help="The metric's key")],
    workspace: WorkspaceOpt,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A metric's names, definition and parameters (YAML, or JSON with --json)."""
    with errors_as_exit(), workspace_session(data_dir, workspace) as (s, ws):
        info = service.get_metric(s, ws.id, key).to_dict()
    if as_json:
        print_json(info)
    else:
        sys.stdout.write(yaml.safe_dump(info, allow_unicode=True, sort_keys=False))


@app.command("define")
def define(
    source: Annotated[str, typer.Argument(help="YAML or JSON file of definitions (- = stdin)")],
    workspace: WorkspaceOpt,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace metrics the workspace already defines")
    ] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Define workspace metrics (all or none: one bad definition saves nothing)."""
    with errors_as_exit():
        items = read_definitions(source)
        done = []
        with workspace_session(data_dir, workspace) as (s, ws):
            for i, item in enumerate(items):
                key = item.get("key")
                exists = replace and any(
                    m.metric.key == key and m.source == "workspace"
                    for m in service.list_metrics(s, ws.id)
                )
                try:
                    if exists:
                        info = service.replace_metric(s, ws.id, str(key), item)
                    else:
                        info = service.define_metric(s, ws.id, item)
                except InvalidInput as exc:
                    where = f"[{i}]" + (f".{exc.field}" if exc.field else "")
                    raise InvalidInput(f"{exc.message} ({key})", where) from None
                done.append({"key": info.metric.key, "replaced": exists})
    if as_json:
        print_json(done)
    else:
        for d in done:
            out_console.print(f"{'replaced' if d['replaced'] else 'defined'} {d['key']}")


@app.command("delete")
def delete(
    key: Annotated[str, typer.Argument(help="The workspace metric's key")],
    workspace: WorkspaceOpt,
    data_dir: DataDirOpt = None,
) -> None:
    """Delete a workspace metric (refused while another metric's formula names it)."""
    with errors_as_exit(), workspace_session(data_dir, workspace) as (s, ws):
        service.delete_metric(s, ws.id, key)
    out_console.print(f"deleted {key}")
