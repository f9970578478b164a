"""What every command shares: the --data-dir option, settings, errors as red lines, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from opsloop.errors import OpsLoopError
from opsloop.settings import Settings, load_settings

err_console = Console(stderr=True)
out_console = Console()

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder (default: $OPSLOOP_DATA_DIR, else ./opsloop-data)",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


def settings_for(data_dir: Path | None) -> Settings:
    try:
        return load_settings(data_dir)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise fail(f"invalid settings: {problems}") from None


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Domain errors become one red line and exit code 2, never a traceback."""
    try:
        yield
    except OpsLoopError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise fail(f"{exc.message}{where}") from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
