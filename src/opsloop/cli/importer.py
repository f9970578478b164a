"""`opsloop import FILE --workspace W`: bulk-load events from CSV, JSON Lines or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from opsloop.cli.common import (
    DataDirOpt,
    JsonOpt,
    err_console,
    errors_as_exit,
    out_console,
    print_json,
    settings_for,
)
from opsloop.db import open_database
from opsloop.errors import InvalidInput
from opsloop.importer.service import ImportRequest, ImportSummary, run_import


class StepsColumn(ProgressColumn):
    """`1,234/5,678 rows`, or a percentage when the phase only knows its share."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "rows" and task.total is not None:
            return Text(f"{int(task.completed):,}/{int(task.total):,} rows", style="green")
        return Text(f"{task.percentage:>3.0f}%", style="green")


class BarProgress:
    """The import's phases as a rich progress bar on stderr (only on a terminal)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.total: int | None = None

    def phase(self, description: str, total: int | None, unit: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.total or 0)
            self.progress.stop_task(self.task)
        self.total = total
        self.task = self.progress.add_task(escape(description), total=total, unit=unit)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def update(self, completed: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=completed)


def _print_summary(summary: ImportSummary) -> None:
    ws = summary.workspace
    out_console.print(
        f"imported [bold]{escape(Path(summary.source).name)}[/] ({summary.format}) into"
        f" workspace [bold]{escape(ws.name)}[/] (id {ws.id}) in {summary.seconds:.1f} s,"
        f" import {summary.import_id}",
        highlight=False,
        soft_wrap=True,
    )
    out_console.print(
        f"  read {summary.read:,} = accepted {summary.accepted:,}"
        f" + quarantined {summary.quarantined:,} + duplicates {summary.duplicates:,}",
        highlight=False,
        soft_wrap=True,
    )
    out_console.print(f"  stored {escape(summary.through)}", highlight=False, soft_wrap=True)
    if summary.quarantine_file:
        out_console.print(
            f"  quarantined rows: {escape(summary.quarantine_file)}",
            highlight=False,
            soft_wrap=True,
        )


def import_(
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines or Parquet file (.gz allowed)")],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace id or name")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl or parquet (default: from the extension)"),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a column: --map user=distinct_id (repeatable)"),
    ] = None,
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            help="Zone of timestamps written without an offset, e.g. Asia/Shanghai (default UTC)",
        ),
    ] = "UTC",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import events from a file.

    Columns event, distinct_id, timestamp and uuid map by name (--map renames a column).

    Every other column becomes a property, typed; empty cells are left out.

    Timestamps: ISO 8601 or epoch seconds/ms; without an offset they are in --timezone (UTC).

    Refused rows go to a quarantine file: read = accepted + quarantined + duplicates.
    """
    settings = settings_for(data_dir)
    request = ImportRequest(file, workspace, file_format, tuple(mapping or ()), timezone)
    with errors_as_exit():
        if not file.is_file():
            raise InvalidInput(f"no such file: {file}", "FILE")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_database(settings.resolved_database_url)
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                StepsColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
                disable=not err_console.is_terminal,
            ) as bar:
                summary = run_import(settings, db, request, BarProgress(bar))
        finally:
            db.close()
    if as_json:
        print_json(summary.as_dict())
    else:
        _print_summary(summary)
