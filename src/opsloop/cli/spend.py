"""`opsloop spend import|list|delete`: the acquisition spend table behind the CAC metric
(channel, date, spend, currency), read and written in the operational store directly."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opsloop.analytics.catalog.spend import (
    delete_spend,
    import_spend,
    parse_spend_csv,
    parse_spend_json,
    spend_rows,
    workspace_currency,
)
from opsloop.cli.common import DataDirOpt, JsonOpt, errors_as_exit, out_console, print_json
from opsloop.cli.metric import WorkspaceOpt, workspace_session
from opsloop.errors import InvalidInput

app = typer.Typer(help="Acquisition spend per channel and day (for CAC)", no_args_is_help=True)

FromOpt = Annotated[str | None, typer.Option("--from", help="First date, YYYY-MM-DD")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date, YYYY-MM-DD")]
ChannelOpt = Annotated[str | None, typer.Option("--channel", help="One channel only")]


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", option) from None


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="CSV (channel,date,spend[,currency]) or JSON")],
    workspace: WorkspaceOpt,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: by extension)")
    ] = None,
    currency: Annotated[
        str, typer.Option("--currency", help="Currency of rows that name none")
    ] = "CNY",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store the file's rows; a stored row of the same channel and day is replaced."""
    with errors_as_exit():
        kind = (file_format or path.suffix.lstrip(".")).lower()
        if kind not in ("csv", "json"):
            raise InvalidInput("give --format csv or json", "--format")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}", "PATH") from None
        if kind == "csv":
            try:
                rows = parse_spend_csv(raw.decode("utf-8"), currency.upper())
            except UnicodeDecodeError:
                raise InvalidInput(f"{path} is not UTF-8 text", "PATH") from None
        else:
            rows = parse_spend_json(raw, currency.upper())
        with workspace_session(data_dir, workspace) as (s, ws):
            result = import_spend(s, ws.id, rows).to_dict()
    if as_json:
        print_json(result)
    else:
        out_console.print(
            f"{result['rows']} rows ({result['currency']}): {result['inserted']} new,"
            f" {result['updated']} updated, {result['unchanged']} unchanged"
        )


@app.command("list")
def list_(
    workspace: WorkspaceOpt,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The stored spend, by date and channel."""
    with errors_as_exit():
        lo, hi = _date(date_from, "--from"), _date(date_to, "--to")
        with workspace_session(data_dir, workspace) as (s, ws):
            rows = spend_rows(s, ws.id, lo, hi, channel)
            currency = workspace_currency(s, ws.id)
    items = [{"channel": r.channel, "date": r.day.isoformat(), "spend": r.spend} for r in rows]
    if as_json:
        print_json({"currency": currency, "results": items})
        return
    table = Table(show_edge=False, pad_edge=False, title=f"spend ({currency or 'none yet'})")
    for column in ("date", "channel", "spend"):
        table.add_column(column, justify="right" if column == "spend" else "left")
    for r in rows:
        table.add_row(r.day.isoformat(), r.channel, f"{r.spend:,.2f}")
    out_console.print(table)


@app.command("delete")
def delete(
    workspace: WorkspaceOpt,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    channel: ChannelOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete the rows of those dates and channel (every row when none is given)."""
    with errors_as_exit():
        lo, hi = _date(date_from, "--from"), _date(date_to, "--to")
        with workspace_session(data_dir, workspace) as (s, ws):
            deleted = delete_spend(s, ws.id, lo, hi, channel)
    if as_json:
        print_json({"deleted": deleted})
    else:
        out_console.print(f"deleted {deleted} rows")
