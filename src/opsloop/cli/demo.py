"""`opsloop demo-data` builds the demo world, `opsloop demo` builds it, then serves it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from opsloop.cli.common import DataDirOpt, JsonOpt, errors_as_exit, fail, print_json, settings_for
from opsloop.settings import Settings

DEMO_WORKSPACE = "demo"
DEMO_EMAIL = "demo@opsloop.local"
DEMO_PASSWORD = "opsloop-demo"
# The simulator's shortest world (opsloop.demo.calendar.MIN_DAYS; not imported, so that the CLI
# starts without loading the simulator).
MIN_DAYS = 28


def demo_file(settings: Settings) -> Path:
    return settings.data_dir / "demo.json"


def build(settings: Settings, users: int, days: int, seed: int, *, quiet: bool) -> dict[str, Any]:
    """Create the demo workspace and login, simulate the world into the event store, and upload
    its acquisition spend table (for CAC)."""
    from opsloop.accounts.service import create_user
    from opsloop.analytics.catalog.spend import SpendInput, import_spend
    from opsloop.db import open_database
    from opsloop.demo import build_demo_world
    from opsloop.demo.spend import demo_spend
    from opsloop.events import open_event_store
    from opsloop.workspaces.service import create_workspace, get_workspace

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            if get_workspace(s, DEMO_WORKSPACE) is not None:
                raise fail(
                    f"{settings.data_dir} already holds the demo world; use another --data-dir"
                )
        store = open_event_store(settings.event_store_path)
        try:
            with db.session() as s:
                ws = create_workspace(s, DEMO_WORKSPACE)
                create_user(s, DEMO_EMAIL, workspace_id=ws.id, role="owner", password=DEMO_PASSWORD)
            with Progress(
                TextColumn("[bold]building the demo world"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                disable=quiet,
                transient=False,
            ) as bar:
                task = bar.add_task("demo", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                summary = build_demo_world(
                    store,
                    ws.id,
                    settings.data_dir,
                    users=users,
                    days=days,
                    seed=seed,
                    progress=progress,
                )
            with db.session() as s:
                spend = demo_spend(summary.date_from, summary.date_to, seed)
                import_spend(s, ws.id, [SpendInput(c, d, v, "CNY") for c, d, v in spend])
        finally:
            store.close()
    finally:
        db.close()
    info = {
        "workspace_id": ws.id,
        "workspace": DEMO_WORKSPACE,
        "ingest_key": ws.ingest_key,
        "api_token": ws.api_token,
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "users": users,
        "days": days,
        "seed": seed,
        "events": getattr(summary, "events", None),
        "truths": str(settings.data_dir / "truths.json"),
    }
    demo_file(settings).write_text(json.dumps(info, ensure_ascii=False, indent=2))
    return info


def demo_data(
    data_dir: DataDirOpt = None,
    users: Annotated[int, typer.Option(min=10, help="Number of simulated users")] = 20_000,
    days: Annotated[
        int, typer.Option(min=MIN_DAYS, max=3660, help="Number of simulated days")
    ] = 90,
    seed: Annotated[int, typer.Option(help="Seed: the same seed builds the same world")] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Build the demo world (events, persons and truths.json) without serving it."""
    settings = settings_for(data_dir)
    with errors_as_exit():
        info = build(settings, users, days, seed, quiet=as_json)
    if as_json:
        print_json(info)
    else:
        typer.echo(f"demo world built in {settings.data_dir}: {info['events']} events")
        typer.echo(f"planted truths: {info['truths']}")


def demo(
    data_dir: DataDirOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    users: Annotated[int, typer.Option(min=10, help="Users, when the world is built")] = 20_000,
    days: Annotated[int, typer.Option(min=MIN_DAYS, max=3660, help="Days, when it is built")] = 90,
    seed: Annotated[int, typer.Option(help="Seed, when it is built")] = 42,
) -> None:
    """Build the demo world if the data folder has none, then serve it."""
    from opsloop.cli.serve import check_can_serve, run_server

    settings = settings_for(data_dir)
    check_can_serve(settings, host, port)
    path = demo_file(settings)
    with errors_as_exit():
        info = (
            json.loads(path.read_text())
            if path.exists()
            else build(settings, users, days, seed, quiet=False)
        )
    run_server(
        settings,
        host,
        port,
        [
            f"OpsLoop demo: http://{host}:{port}/",
            f"  sign in as {info['email']} / {info['password']}",
            f"  ingest key {info['ingest_key']}  (see /setup for SDK snippets)",
            f"  planted truths: {info['truths']}",
        ],
    )
