"""`opsloop property materialize|list|drop|auto|usage`: materialized event properties, through
the running server when one serves the data folder (it owns the event store), else on the event
store opened here. `--json` prints exactly the REST answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
import typer
from pydantic import BaseModel, ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from opsloop.audit import Who, acting_as
from opsloop.cli.common import (
    DataDirOpt,
    JsonOpt,
    err_console,
    errors_as_exit,
    out_console,
    print_json,
    settings_for,
)
from opsloop.db import Database, open_database
from opsloop.discovery import ServerAddress, running_server
from opsloop.errors import InvalidInput, NotFound, OpsLoopError, StoreBusy
from opsloop.events import EventStore, open_event_store
from opsloop.events.materialized import Progress as StepProgress
from opsloop.properties import service
from opsloop.properties.schemas import AutoMaterializeRequest, MaterializeRequest
from opsloop.settings import Settings
from opsloop.workspaces.service import create_api_token, get_workspace, revoke_api_token

app = typer.Typer(help="Materialized event properties: columns of their own for hot properties")

BASE_PATH = "/api/v1/properties"
TIMEOUT_SECONDS = 3600.0  # a backfill of a big workspace takes minutes

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace id or name")]
Local = Callable[[EventStore, Session, int, StepProgress | None], Any]
# Who the audit log names for changes made here (through a server: the token made for them).
CLI_ACTOR = Who("opsloop property (CLI)", "cli")
Model = TypeVar("Model", bound=BaseModel)
# The option that sets each request field, named in its errors.
OPTION_OF = {"key": "KEY", "type": "--type", "limit": "--limit", "min_uses": "--min-uses"}


def _validated(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        raise InvalidInput(str(first["msg"]), OPTION_OF.get(name, f"--{name}")) from None


def _run(
    data_dir: Path | None,
    workspace: str,
    method: str,
    path: str,
    local: Local,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """The REST answer (as JSON values) of one call, made by the server or here."""
    settings = settings_for(data_dir)
    if not settings.data_dir.is_dir():
        raise NotFound(f"no data folder at {settings.data_dir}", "--data-dir")
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            ws = get_workspace(s, workspace)
        if ws is None:
            raise NotFound(f"no workspace has the id or name {workspace!r}", "--workspace")
        address = running_server(settings)
        if address is not None:
            return _through_server(address, db, ws.id, method, path, body, params)
        with _local_store(settings) as store, _progress() as progress, db.session() as s:
            acting_as(s, CLI_ACTOR)
            return _jsonable(local(store, s, ws.id, progress))
    finally:
        db.close()


def _through_server(
    address: ServerAddress,
    db: Database,
    workspace_id: int,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    params: dict[str, Any] | None,
) -> Any:
    with db.session() as s:
        token = create_api_token(
            s, workspace_id, user_id=None, name="opsloop property (CLI)", role="admin"
        )
    try:
        answer = httpx.request(
            method,
            f"{address.url}{BASE_PATH}{path}",
            json=body,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise OpsLoopError(f"the server at {address.url} stopped answering ({exc})") from exc
    finally:
        with db.session() as s:
            revoke_api_token(s, token)
    if answer.status_code != 200:
        try:
            error = answer.json()["error"]
            message, field = str(error["message"]), error.get("field")
        except (ValueError, KeyError, TypeError):
            message, field = answer.text[:200], None
        raise OpsLoopError(f"the server answered {answer.status_code}: {message}", field)
    return answer.json()


@contextmanager
def _local_store(settings: Settings) -> Iterator[EventStore]:
    try:
        store = open_event_store(settings.event_store_path)
    except StoreBusy as exc:
        raise StoreBusy(
            f"the event store {settings.event_store_path} is held by another OpsLoop process,"
            " and no server answers for this data folder (server.json); stop that process, or"
            " run this while `opsloop serve` runs for this data folder"
        ) from exc
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _progress() -> Iterator[StepProgress]:
    """A bar on stderr for the backfill's slices (only on a terminal)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("backfilling stored events", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield step


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.model_dump(mode="json")


def _print(rows: list[dict[str, Any]], columns: list[str], empty: str) -> None:
    if not rows:
        err_console.print(empty)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out_console.print(table)


PROPERTY_COLUMNS = ["key", "type", "column", "origin", "ready", "created_at"]


@app.command("materialize")
def materialize(
    key: Annotated[str, typer.Argument(help="The event property's key")],
    workspace: WorkspaceOpt,
    type_: Annotated[
        str, typer.Option("--type", help="auto (from the values seen), text or number")
    ] = "auto",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give an event property a column of its own and backfill the stored events."""
    with errors_as_exit():
        request = _validated(MaterializeRequest, {"key": key, "type": type_})
        answer = _run(
            data_dir,
            workspace,
            "POST",
            "/materialized",
            lambda store, s, ws, progress: service.materialize(store, s, ws, request, progress),
            body=request.model_dump(),
        )
    if as_json:
        print_json(answer)
    else:
        _print([answer], PROPERTY_COLUMNS, "")


@app.command("list")
def list_(workspace: WorkspaceOpt, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """The workspace's materialized event properties."""
    with errors_as_exit():
        answer = _run(
            data_dir,
            workspace,
            "GET",
            "/materialized",
            lambda store, _s, ws, _p: service.materialized(store, ws),
        )
    if as_json:
        print_json(answer)
    else:
        _print(answer, PROPERTY_COLUMNS, "no materialized properties")


@app.command("drop")
def drop(
    key: Annotated[str, typer.Argument(help="The event property's key")],
    workspace: WorkspaceOpt,
    type_: Annotated[
        str | None, typer.Option("--type", help="text or number (default both)")
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop materializing an event property (queries read its JSON again)."""
    with errors_as_exit():
        if type_ not in (None, "text", "number"):
            raise InvalidInput("--type is text or number", "--type")
        kind: Any = type_
        answer = _run(
            data_dir,
            workspace,
            "DELETE",
            f"/materialized/{quote(key, safe='')}",
            lambda store, s, ws, _: service.drop(store, s, ws, key, kind),
            params={"type": type_},
        )
    if as_json:
        print_json(answer)
    else:
        _print(answer, PROPERTY_COLUMNS, "")


@app.command("auto")
def auto(
    workspace: WorkspaceOpt,
    limit: Annotated[int, typer.Option("--limit", help="At most this many new columns")] = 5,
    min_uses: Annotated[int, typer.Option("--min-uses", help="Read at least this often")] = 3,
    days: Annotated[int, typer.Option("--days", help="Uses of the last DAYS days count")] = 30,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Materialize the event properties queries read most (see `opsloop property usage`)."""
    with errors_as_exit():
        request = _validated(
            AutoMaterializeRequest, {"limit": limit, "min_uses": min_uses, "days": days}
        )
        answer = _run(
            data_dir,
            workspace,
            "POST",
            "/materialized/auto",
            lambda store, s, ws, progress: service.auto_materialize(
                store, s, ws, request, progress
            ),
            body=request.model_dump(),
        )
    if as_json:
        print_json(answer)
    else:
        _print(answer, PROPERTY_COLUMNS, "nothing to materialize: no property is read that often")


@app.command("usage")
def usage(
    workspace: WorkspaceOpt,
    days: Annotated[int, typer.Option("--days", help="Uses of the last DAYS days")] = 30,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How often the workspace's queries read each event property, most read first."""
    with errors_as_exit():
        if not 1 <= days <= 366:
            raise InvalidInput("--days is between 1 and 366", "--days")
        answer = _run(
            data_dir,
            workspace,
            "GET",
            "/usage",
            lambda store, _s, ws, _p: service.usage(store, ws, days),
            params={"days": days},
        )
    if as_json:
        print_json(answer)
    else:
        _print(answer, ["key", "type", "uses", "last_used", "materialized"], "no property read")
