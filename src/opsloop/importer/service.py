"""`opsloop import`: read a file, check every row, quarantine the refused ones, store the rest
(through the running server or straight into the event store) and record the run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa
from sqlalchemy import select

from opsloop.audit import Who, acting_as, cli_who, record
from opsloop.db import Database
from opsloop.errors import InvalidInput, NotFound
from opsloop.events.schema import EVENT_ARROW_SCHEMA
from opsloop.importer.columns import parse_map
from opsloop.importer.models import ImportRun
from opsloop.importer.quarantine import csv_rejects, write_quarantine
from opsloop.importer.reader import ImportFormat, infer_format, sql_literal, stage
from opsloop.importer.sink import EventSink, LocalSink, open_sink
from opsloop.importer.validate import (
    CheckedRows,
    accepted_batches,
    accepted_select,
    check_rows,
)
from opsloop.settings import Settings
from opsloop.workspaces.service import WorkspaceRef, get_workspace

QUARANTINE_DIR = "quarantine"


class ImportProgress(Protocol):
    """What a door shows while an import runs (the CLI draws a rich progress bar)."""

    def phase(self, description: str, total: int | None, unit: str) -> None:
        """A new phase: `total` steps of `unit` ("rows", or "%" when only a share is known)."""

    def advance(self, amount: int) -> None: ...

    def update(self, completed: int) -> None: ...


class NoProgress:
    def phase(self, description: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def update(self, completed: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ImportRequest:
    path: Path
    workspace: str
    format: str | None = None
    mapping: tuple[str, ...] = ()
    # The zone of timestamps written without an offset (naive text, Parquet TIMESTAMP, dates).
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How the rows reconciled: read = accepted + quarantined + duplicates."""

    import_id: int
    workspace: WorkspaceRef
    source: str
    format: ImportFormat
    read: int
    accepted: int
    quarantined: int
    duplicates: int
    quarantine_file: str | None
    seconds: float
    through: str

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "quarantine_file": self.quarantine_file,
            "import_id": self.import_id,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True)
class ImportRunInfo:
    id: int
    source: str
    format: str
    read: int
    accepted: int
    quarantined: int
    duplicates: int
    quarantine_file: str | None
    created_at: datetime
    finished_at: datetime | None


def checked_timezone(name: str) -> str:
    """An IANA time zone name (Asia/Shanghai, UTC, ...), or a clear error naming the option."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai or UTC",
            "--timezone",
        ) from None
    return name


def find_workspace(db: Database, key: str) -> WorkspaceRef:
    with db.session() as s:
        ws = get_workspace(s, key)
    if ws is None:
        raise NotFound(f"no workspace has the id or name {key!r}", "--workspace")
    return ws


def run_import(
    settings: Settings,
    db: Database,
    request: ImportRequest,
    progress: ImportProgress | None = None,
    who: Who | None = None,
) -> ImportSummary:
    """Import one file into one workspace; refused rows go to the quarantine file. The audit log
    records the import as `who`'s (default: the CLI's user)."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    workspace = find_workspace(db, request.workspace)
    fmt = infer_format(request.path, request.format)
    renames = parse_map(request.mapping)
    timezone = checked_timezone(request.timezone)
    now = datetime.now(UTC)
    sink = open_sink(settings, db, workspace.id)
    try:
        # Into the event store's own engine when no server runs (one engine from the file to
        # the table); otherwise a private one, whose accepted rows go to the server in batches.
        con = sink.connection()
        try:
            # A file bigger than memory spills here (DuckDB removes its files when done).
            spill = settings.data_dir / "tmp"
            con.execute(f"SET temp_directory = {sql_literal(str(spill.resolve()))}")
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
            progress.phase(f"Reading {request.path.name}", 100, "%")
            with _query_progress(con, progress):
                staged = stage(con, request.path, fmt, _bytes_as_percent(request.path, progress))
                progress.phase("Checking rows", 100, "%")
                checked = check_rows(
                    con,
                    staged,
                    renames,
                    now=now,
                    max_future=timedelta(seconds=settings.max_future_seconds),
                    timezone=timezone,
                )
            rejected = csv_rejects(con) if fmt == "csv" else 0
            run_id = _start_run(db, workspace.id, request.path, fmt)
            quarantined = checked.quarantined + rejected
            quarantine_file = None
            if quarantined:
                target = settings.data_dir / QUARANTINE_DIR / f"import-{run_id}.jsonl"
                write_quarantine(con, staged, target)
                quarantine_file = str(target.resolve())
            accepted, stored_dups = _store(con, sink, workspace.id, now, checked, progress)
        finally:
            con.close()
    finally:
        sink.close()
    read = checked.rows + rejected
    duplicates = checked.in_file_duplicates + stored_dups
    summary = ImportSummary(
        run_id,
        workspace,
        str(request.path.resolve()),
        fmt,
        read,
        accepted,
        quarantined,
        duplicates,
        quarantine_file,
        round(time.perf_counter() - started, 3),
        sink.where,
    )
    _finish_run(db, summary, who or cli_who())
    return summary


def _store(
    con: duckdb.DuckDBPyConnection,
    sink: EventSink,
    workspace_id: int,
    received_at: datetime,
    checked: CheckedRows,
    progress: ImportProgress,
) -> tuple[int, int]:
    progress.phase("Storing events", checked.to_store, "rows")
    if isinstance(sink, LocalSink):
        with _query_progress(con, progress, scale=checked.to_store):
            result = sink.store.append_query(
                con, accepted_select(workspace_id, received_at), workspace_id
            )
        progress.update(checked.to_store)
        return result.accepted, result.duplicates
    accepted = duplicates = 0
    size = sink.rows_per_batch(checked.row_bytes)
    for table in _tables_of(accepted_batches(con, workspace_id, received_at, size), size):
        result = sink.append(table.cast(EVENT_ARROW_SCHEMA))
        accepted, duplicates = accepted + result.accepted, duplicates + result.duplicates
        progress.advance(table.num_rows)
    return accepted, duplicates


def _tables_of(reader: pa.RecordBatchReader, size: int) -> Iterator[pa.Table]:
    """The reader's rows in tables of `size` rows (DuckDB hands out a row group at most)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        offset = 0
        while offset < batch.num_rows:
            take = min(size - count, batch.num_rows - offset)
            pending.append(batch.slice(offset, take))
            count += take
            offset += take
            if count == size:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _bytes_as_percent(path: Path, progress: ImportProgress) -> Callable[[int], None]:
    size = max(path.stat().st_size, 1) if path.is_file() else 1
    done = 0

    def advance(amount: int) -> None:
        nonlocal done
        done += amount
        progress.update(min(100, done * 100 // size))

    return advance


@contextmanager
def _query_progress(
    con: duckdb.DuckDBPyConnection, progress: ImportProgress, scale: int = 100
) -> Iterator[None]:
    """Show the percentage DuckDB reports for the statement it is running (as a share of
    `scale` steps)."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.2):
            try:
                percent = con.query_progress()
            except duckdb.Error:
                return
            if percent >= 0:
                progress.update(int(percent * scale / 100))

    watcher = threading.Thread(target=poll, name="import-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _start_run(db: Database, workspace_id: int, path: Path, fmt: str) -> int:
    with db.session() as s:
        run = ImportRun(workspace_id=workspace_id, source=str(path.resolve()), format=fmt)
        s.add(run)
        s.flush()
        return run.id


def _finish_run(db: Database, summary: ImportSummary, who: Who) -> None:
    with db.session() as s:
        acting_as(s, who)
        run = s.get(ImportRun, summary.import_id)
        if run is None:
            return
        record(
            s,
            "import.finished",
            workspace_id=run.workspace_id,
            entity_type="import",
            entity_id=run.id,
            after={
                "source": summary.source,
                "format": summary.format,
                "read": summary.read,
                "accepted": summary.accepted,
                "quarantined": summary.quarantined,
                "duplicates": summary.duplicates,
            },
        )
        run.read = summary.read
        run.accepted = summary.accepted
        run.quarantined = summary.quarantined
        run.duplicates = summary.duplicates
        run.quarantine_path = summary.quarantine_file
        run.finished_at = datetime.now(UTC)


def recent_runs(db: Database, workspace_id: int, limit: int = 20) -> list[ImportRunInfo]:
    """The workspace's latest imports, newest first (for the console)."""
    with db.session() as s:
        rows: Sequence[ImportRun] = s.scalars(
            select(ImportRun)
            .where(ImportRun.workspace_id == workspace_id)
            .order_by(ImportRun.id.desc())
            .limit(limit)
        ).all()
        return [
            ImportRunInfo(
                r.id,
                r.source,
                r.format,
                r.read,
                r.accepted,
                r.quarantined,
                r.duplicates,
                r.quarantine_path,
                r.created_at,
                r.finished_at,
            )
            for r in rows
        ]
