"""`opsloop query KIND --workspace W ...`: any registered analysis from the command line, through
the running server when one serves the data folder, else on the event store opened read-only."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from pydantic import BaseModel
from rich.markup import escape

from opsloop.analytics.catalog.service import load_definitions
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.registry import KINDS
from opsloop.analytics.segments.service import cohort_resolver
from opsloop.analytics.service import parse_query, run_query
from opsloop.cli.common import DataDirOpt, JsonOpt, errors_as_exit, fail, settings_for
from opsloop.cli.metric_option import add_metrics
from opsloop.cli.query_output import print_csv, print_table
from opsloop.db import Database, open_database
from opsloop.discovery import ServerAddress, running_server
from opsloop.errors import InvalidInput, NotFound, OpsLoopError, StoreBusy
from opsloop.events import EventStore, open_event_store
from opsloop.settings import Settings
from opsloop.workspaces.service import (
    WorkspaceRef,
    create_api_token,
    get_workspace,
    revoke_api_token,
)

QUERY_PATH = "/api/v1/query"
QUERY_TIMEOUT_SECONDS = 600.0
# The REST door renders answers with these options (web/responses.py); so does --json here.
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

# One minimal invocation per kind, shown in --help; the tests run every one and fail when a
# registered kind has none.
EXAMPLES: dict[str, str] = {
    "trends": "--event pay --math sum --property amount --from 2026-06-01 --to 2026-06-07"
    " --breakdown channel",
    "retention": "--event sign_up --from 2026-06-01 --to 2026-06-03 --set periods=3",
    "lifecycle": "--event app_open --interval day --from 2026-06-01 --to 2026-06-07",
    "rfm": "--to 2026-06-07",
    "funnel": "--event sign_up --event pay --from 2026-06-01 --to 2026-06-07",
    "funnel_persons": "--event sign_up --event pay --from 2026-06-01 --to 2026-06-07"
    " --set step=1 --set dropped=true",
    "paths": "--event sign_up --set depth=3 --from 2026-06-01 --to 2026-06-07",
    "segment": """--body '{"rule": {"did": "pay", "at_least": 2}}' --to 2026-06-07""",
    "timeline": "--set distinct_id=u1 --set limit=5",
    "metrics": "--metric paying_users --metric paid_conversion --from 2026-06-01 --to 2026-06-07"
    " --breakdown channel",
}

# The option that sets a field, named in that field's errors.
OPTION_OF = {
    "date_from": "--from",
    "date_to": "--to",
    "as_of": "--to",
    "series": "--event",
    "steps": "--event (once per step)",
    "event": "--event",
    "start_event": "--event",
    "interval": "--interval",
    "period": "--interval",
    "breakdown": "--breakdown",
    "metrics": "--metric",
}
FILTER_OPS = {"=": "eq", "==": "eq", "!=": "neq", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
NUMERIC_OPS = ("gt", "gte", "lt", "lte")
EVENT_SLOTS = ("event", "start_event", "return_event")


@dataclass(frozen=True)
class Options:
    """The convenience options; each sets a field of the request, whatever the kind."""

    date_from: str | None = None
    date_to: str | None = None
    events: tuple[str, ...] = ()
    math: str | None = None
    property: str | None = None
    interval: str | None = None
    breakdown: str | None = None
    filters: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()


def _help() -> str:
    lines = [
        "Run an analysis: the command-line door of POST /api/v1/query.",
        "The request is --body (JSON, or @FILE; @- reads stdin), then the options, then each"
        " --set (field=text, field:=JSON, dotted paths like series.0.math=sum). --json prints"
        " exactly the REST answer; --csv the results (dated lines: a row per date).",
        "--event fills series (one each), steps (one each), or event, start_event,"
        " return_event in that order. --to sets date_to, or as_of when the kind has no"
        " date_to. --interval sets interval or period. --filter 'property op value' (op: eq"
        " neq in not_in gt gte lt lte contains not_contains is_set is_not_set, or = != > >= <"
        " <=; in takes a,b,c; person.NAME names a person property). --metric KEY (or"
        " KEY:param=value,...) fills metrics, or adds a catalog metric to the series of trends.",
        "Goes through `opsloop serve` when it runs for the data folder, else reads the event"
        " store itself.",
    ]
    kinds = []
    for name, kind in KINDS.items():
        required = [f for f, info in kind.model.model_fields.items() if info.is_required()]
        kinds.append(f"{name} ({', '.join(required)})" if required else name)
    lines.append(f"Kinds, with their required fields: {'; '.join(kinds)}.")
    lines.append("Examples:")
    lines += [f"  opsloop query {k} -w shop {EXAMPLES[k]}" for k in KINDS if k in EXAMPLES]
    return "\n\n".join(escape(line) for line in lines)


# -- building the request ---------------------------------------------------------------------


def build_request(kind: str, body: str | None, opts: Options) -> dict[str, Any]:
    """The request dict: --body, then the options, then --set (later ones win)."""
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"unknown query kind {kind!r}; known: {known}", "KIND")
    fields = [f for f in KINDS[kind].model.model_fields if f != "kind"]
    request = _load_body(body)
    if request.setdefault("kind", kind) != kind:
        raise InvalidInput(f"--body is a {request['kind']!r} request, not {kind!r}", "kind")
    for option, value, names in (
        ("--from", opts.date_from, ("date_from",)),
        ("--to", opts.date_to, ("date_to", "as_of")),
        ("--interval", opts.interval, ("interval", "period")),
        ("--breakdown", opts.breakdown, ("breakdown",)),
    ):
        if value is not None:
            request[_field(fields, option, kind, names)] = value
    _add_events(request, kind, fields, opts)
    if opts.metrics:
        add_metrics(request, _field(fields, "--metric", kind, ("metrics", "series")), opts.metrics)
    if opts.filters:
        name = _field(fields, "--filter", kind, ("filters",))
        request[name] = [*(request.get(name) or []), *map(_parse_filter, opts.filters)]
    for assignment in opts.sets:
        _set_path(request, assignment)
    return request


def parse_request(request: dict[str, Any]) -> BaseModel:
    """parse_query, with the option that sets the faulty field named."""
    try:
        return parse_query(request)
    except InvalidInput as exc:
        option = OPTION_OF.get(exc.field or "")
        if option is None:
            raise
        raise InvalidInput(f"{exc.message}; set it with {option}", exc.field) from None


def _load_body(body: str | None) -> dict[str, Any]:
    if body is None:
        return {}
    text = body
    if body.startswith("@"):
        source = body[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}", "--body") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"not valid JSON: {exc}", "--body") from None
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", "--body")
    return value


def _field(fields: list[str], option: str, kind: str, names: tuple[str, ...]) -> str:
    for name in names:
        if name in fields:
            return name
    raise InvalidInput(f"{kind} takes no {option}; its fields: {', '.join(fields)}", option)


def _add_events(request: dict[str, Any], kind: str, fields: list[str], opts: Options) -> None:
    if opts.math is not None or opts.property is not None:
        _field(fields, "--math/--property", kind, ("series",))
    if not opts.events:
        return
    if "series" in fields:
        extra = {k: v for k, v in (("math", opts.math), ("property", opts.property)) if v}
        request["series"] = [{"event": e, **extra} for e in opts.events]
    elif "steps" in fields:
        request["steps"] = [{"event": e} for e in opts.events]
    else:
        slots = [f for f in EVENT_SLOTS if f in fields]
        if not slots:
            _field(fields, "--event", kind, ())
        if len(opts.events) > len(slots):
            raise InvalidInput(f"{kind} takes at most {len(slots)} --event", "--event")
        request.update(zip(slots, opts.events, strict=False))


def _parse_filter(text: str) -> dict[str, Any]:
    """`'property op value'`: gt/gte/lt/lte take a number, in/not_in a JSON list or a,b,c."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidInput(f"{text!r}: write 'property op value'", "--filter")
    prop, op = parts[0], FILTER_OPS.get(parts[1], parts[1])
    raw = parts[2] if len(parts) > 2 else None
    value: Any = raw
    if op in NUMERIC_OPS and raw is not None:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(f"{text!r}: {op} needs a number", "--filter")
    elif op in ("in", "not_in") and raw is not None:
        value = _json(raw, "--filter") if raw.startswith("[") else raw.split(",")
    return {"property": prop, "op": op, "value": value}


def _json(raw: str, option: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not valid JSON", option) from None


def _set_path(request: dict[str, Any], assignment: str) -> None:
    """`a.b.0.c=text` (JSON when the text starts with [ or {) or `a.b.0.c:=json`."""
    path, sep, raw = assignment.partition("=")
    as_json = path.endswith(":") or raw.startswith(("[", "{"))
    path = path.removesuffix(":")
    if not sep or not path:
        raise InvalidInput(f"{assignment!r}: write field=value", "--set")
    value = _json(raw, "--set") if as_json else raw
    keys = path.split(".")
    node: Any = request
    for depth, key in enumerate(keys):
        slot: Any = key
        if isinstance(node, list):
            if not (key.isascii() and key.isdigit()) or int(key) > len(node):
                raise InvalidInput(f"{path}: no item {key} in that list", "--set")
            slot = int(key)
            if slot == len(node):
                node.append(None)
        elif not isinstance(node, dict):
            raise InvalidInput(f"{path}: {keys[depth - 1]} holds no fields", "--set")
        if depth == len(keys) - 1:
            node[slot] = value
            return
        if (node[slot] if isinstance(node, list) else node.get(slot)) is None:
            node[slot] = [] if keys[depth + 1].isascii() and keys[depth + 1].isdigit() else {}
        node = node[slot]


# -- answering --------------------------------------------------------------------------------


def answer_bytes(settings: Settings, db: Database, ws: WorkspaceRef, query: BaseModel) -> bytes:
    """The answer as the REST door renders it, from the running server or from the store."""
    address = running_server(settings)
    if address is not None:
        return post_to_server(address, db, ws, QUERY_PATH, query.model_dump(mode="json"))
    with local_store(settings) as store, db.session() as s:
        segments = cohort_resolver(s, ws.id)
        definitions = load_definitions(s, ws.id)
        ctx = QueryContext(ws.id, ws.timezone, DuckDbEngine(store), segments, definitions)
        answer = run_query(ctx, query)
    return orjson.dumps(answer, option=JSON_OPTIONS)


def post_to_server(
    address: ServerAddress, db: Database, ws: WorkspaceRef, path: str, body: dict[str, Any]
) -> bytes:
    """POST `body` to the running server with a token made for this call (revoked after);
    its answer's bytes, or its error as an OpsLoopError naming the field."""
    with db.session() as s:
        token = create_api_token(s, ws.id, user_id=None, name="opsloop query (CLI)", role="analyst")
    try:
        answer = httpx.post(
            f"{address.url}{path}",
            content=orjson.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=QUERY_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise OpsLoopError(f"the server at {address.url} stopped answering ({exc})") from exc
    finally:
        with db.session() as s:
            revoke_api_token(s, token)
    if not answer.is_success:
        try:
            error = answer.json()["error"]
            message, field = str(error["message"]), error.get("field")
        except (ValueError, KeyError, TypeError):
            message, field = answer.text[:200], None
        raise OpsLoopError(f"the server answered {answer.status_code}: {message}", field)
    return answer.content


@contextmanager
def local_store(settings: Settings) -> Iterator[EventStore]:
    """The data folder's event store opened read-only (an empty one when it has no events yet,
    answering as a server would)."""
    path = settings.event_store_path
    try:
        if path.exists():
            store = open_event_store(path, read_only=True)
        else:
            store = open_event_store(Path(":memory:"))
    except StoreBusy as exc:
        raise StoreBusy(
            f"the event store {path} is held by another OpsLoop process, and no server answers"
            " for this data folder (server.json); stop that process, or run the query while"
            " `opsloop serve` runs for this data folder"
        ) from exc
    try:
        yield store
    finally:
        store.close()


def _workspace(db: Database, key: str) -> WorkspaceRef:
    with db.session() as s:
        ws = get_workspace(s, key)
    if ws is None:
        raise NotFound(f"no workspace has the id or name {key!r}", "--workspace")
    return ws


# -- the command ------------------------------------------------------------------------------


def query(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}", show_default=False)],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace id or name")],
    body: Annotated[
        str | None, typer.Option("--body", help="The request as JSON, or @FILE (@- = stdin)")
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="date_from, YYYY-MM-DD")] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="date_to (or as_of), YYYY-MM-DD")
    ] = None,
    events: Annotated[
        list[str] | None, typer.Option("--event", help="Event name ($any = any; repeatable)")
    ] = None,
    math: Annotated[
        str | None, typer.Option("--math", help="Trends: total, unique_users, sum, avg, ...")
    ] = None,
    prop: Annotated[
        str | None, typer.Option("--property", help="Trends: the property sum/avg read")
    ] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="hour, day, week or month")
    ] = None,
    breakdown: Annotated[
        str | None, typer.Option("--breakdown", help="Property (person.NAME: a person's)")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="'property op value', e.g. 'channel = 小红书' (repeatable)"),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="field=text or field:=JSON, e.g. periods=8 (repeatable)"),
    ] = None,
    metrics: Annotated[
        list[str] | None,
        typer.Option("--metric", help="Catalog metric KEY or KEY:param=value,... (repeatable)"),
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the results as CSV")] = False,
    save_as: Annotated[
        str | None,
        typer.Option(
            "--save-as",
            help="Save the persons the answer lists (funnel_persons, segment; every page) as a"
            " static segment of this name",
        ),
    ] = None,
    description: Annotated[
        str, typer.Option("--description", help="With --save-as: the segment's description")
    ] = "",
) -> None:
    if as_json and as_csv:
        raise fail("give --json or --csv, not both")
    if save_as is not None and as_csv:
        raise fail("--save-as prints the saved segment: give --json or nothing, not --csv")
    settings = settings_for(data_dir)
    opts = Options(
        date_from,
        date_to,
        tuple(events or ()),
        math,
        prop,
        interval,
        breakdown,
        tuple(filters or ()),
        tuple(sets or ()),
        tuple(metrics or ()),
    )
    with errors_as_exit():
        parsed = parse_request(build_request(kind, body, opts))
        if not settings.data_dir.is_dir():
            raise NotFound(f"no data folder at {settings.data_dir}", "--data-dir")
        db = open_database(settings.resolved_database_url)
        try:
            ws = _workspace(db, workspace)
            if save_as is not None:
                from opsloop.cli.query_save import print_saved, save_bytes  # it imports this

                raw = save_bytes(settings, db, ws, parsed, save_as, description)
            else:
                raw = answer_bytes(settings, db, ws, parsed)
        finally:
            db.close()
    if save_as is not None and not as_json:
        print_saved(orjson.loads(raw))
    elif as_json:
        sys.stdout.write(raw.decode() + "\n")
    elif as_csv:
        print_csv(orjson.loads(raw))
    else:
        print_table(orjson.loads(raw))


query.__doc__ = _help()
