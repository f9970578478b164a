"""Person changes carried by events: property set / set_once / unset / add / append, and the
merges of identify and alias that fold an anonymous person's history into the user's.

Merges rewrite the distinct_id → person map only; events keep the distinct_id they were sent with,
so every analysis that resolves persons through the map sees the merged history at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from opsloop.events.schema import IncomingEvent, PersonOp, person_id_for


@dataclass(slots=True)
class _Person:
    properties: dict[str, Any]
    is_identified: bool
    created_at: datetime
    changed: bool = False


def apply_property_op(props: dict[str, Any], op: PersonOp) -> None:
    """Apply one property operation in place (the semantics PostHog and Sensors share)."""
    payload = op.properties
    if op.kind == "clear":
        props.clear()
        return
    if op.kind == "unset":
        for key in payload or []:
            props.pop(str(key), None)
        return
    if not isinstance(payload, dict):
        return
    if op.kind == "set":
        props.update(payload)
    elif op.kind == "set_once":
        for key, value in payload.items():
            props.setdefault(key, value)
    elif op.kind == "add":
        for key, value in payload.items():
            current = props.get(key)
            if isinstance(current, int | float) and not isinstance(current, bool):
                props[key] = current + value
            else:
                props[key] = value
    elif op.kind == "append":
        for key, value in payload.items():
            current = props.get(key)
            items = value if isinstance(value, list) else [value]
            props[key] = ([*current] if isinstance(current, list) else []) + items


def apply_person_ops(con: duckdb.DuckDBPyConnection, events: Sequence[IncomingEvent]) -> None:
    """Apply the person operations of `events`, in arrival order, inside the caller's
    transaction."""
    by_workspace: dict[int, list[IncomingEvent]] = defaultdict(list)
    for e in events:
        by_workspace[e.workspace_id].append(e)
    for workspace_id, evs in by_workspace.items():
        _apply_workspace(con, workspace_id, evs)


def _apply_workspace(
    con: duckdb.DuckDBPyConnection, workspace_id: int, events: list[IncomingEvent]
) -> None:
    ids: dict[str, datetime] = {}
    for e in events:
        for op in e.person_ops:
            for did in (e.distinct_id, op.other_id, op.distinct_id):
                if did is not None:
                    ids.setdefault(did, e.timestamp)
    mapping = _load_mapping(con, workspace_id, list(ids))
    missing = [did for did in ids if did not in mapping]
    persons = _load_persons(con, workspace_id, set(mapping.values()))
    for did in missing:
        # An alias or identify can name an id never seen in an event: it gets a person now.
        pid = person_id_for(workspace_id, did)
        mapping[did] = pid
        persons[pid] = _Person({}, False, ids[did], changed=True)
    new_map_rows = list(missing)

    redirect: dict[str, str] = {}

    def find(pid: str) -> str:
        while pid in redirect:
            pid = redirect[pid]
        return pid

    for e in events:
        for op in e.person_ops:
            pid = find(mapping[op.distinct_id or e.distinct_id])
            person = persons[pid]
            if op.kind in ("merge", "identify"):
                if op.kind == "identify":
                    person.is_identified = True
                    person.changed = True
                if op.other_id is None:
                    continue
                other_pid = find(mapping[op.other_id])
                if other_pid == pid:
                    continue
                other = persons[other_pid]
                if op.kind == "identify" and other.is_identified:
                    # Never fold one identified user into another on identify (PostHog's rule).
                    continue
                person.properties = {**other.properties, **person.properties}
                person.created_at = min(person.created_at, other.created_at)
                person.is_identified = person.is_identified or other.is_identified
                person.changed = True
                redirect[other_pid] = pid
            else:
                apply_property_op(person.properties, op)
                person.changed = True

    _write_back(con, workspace_id, mapping, new_map_rows, persons, redirect, find)


def _load_mapping(
    con: duckdb.DuckDBPyConnection, workspace_id: int, distinct_ids: list[str]
) -> dict[str, str]:
    con.register("_dids", pa.table({"distinct_id": pa.array(distinct_ids, pa.string())}))
    try:
        rows = con.execute(
            "SELECT m.distinct_id, CAST(m.person_id AS VARCHAR) FROM person_distinct_ids m"
            " SEMI JOIN _dids d ON d.distinct_id = m.distinct_id WHERE m.workspace_id = ?",
            [workspace_id],
        ).fetchall()
    finally:
        con.unregister("_dids")
    return {str(d): str(p) for d, p in rows}


def _load_persons(
    con: duckdb.DuckDBPyConnection, workspace_id: int, person_ids: set[str]
) -> dict[str, _Person]:
    if not person_ids:
        return {}
    con.register("_pids", pa.table({"id": pa.array(sorted(person_ids), pa.string())}))
    try:
        rows = con.execute(
            "SELECT CAST(p.id AS VARCHAR), p.properties, p.is_identified, p.created_at"
            " FROM persons p SEMI JOIN _pids i ON p.id = i.id::UUID WHERE p.workspace_id = ?",
            [workspace_id],
        ).fetchall()
    finally:
        con.unregister("_pids")
    return {
        str(pid): _Person(orjson.loads(props) if props else {}, bool(ident), created)
        for pid, props, ident, created in rows
    }


def _write_back(
    con: duckdb.DuckDBPyConnection,
    workspace_id: int,
    mapping: dict[str, str],
    new_map_rows: list[str],
    persons: dict[str, _Person],
    redirect: dict[str, str],
    find: Any,
) -> None:
    if new_map_rows:
        con.register(
            "_new_map",
            pa.table(
                {
                    "distinct_id": pa.array(new_map_rows, pa.string()),
                    "person_id": pa.array([mapping[d] for d in new_map_rows], pa.string()),
                    "created_at": pa.array(
                        [persons[mapping[d]].created_at for d in new_map_rows],
                        pa.timestamp("us", tz="UTC"),
                    ),
                }
            ),
        )
        try:
            con.execute(
                "INSERT INTO person_distinct_ids SELECT ?, distinct_id, person_id::UUID"
                " FROM _new_map",
                [workspace_id],
            )
            con.execute(
                "INSERT INTO persons SELECT ?, person_id::UUID, '{}', false, created_at"
                " FROM _new_map",
                [workspace_id],
            )
        finally:
            con.unregister("_new_map")
    if redirect:
        losers = list(redirect)
        con.register(
            "_redirect",
            pa.table(
                {
                    "old": pa.array(losers, pa.string()),
                    "new": pa.array([find(p) for p in losers], pa.string()),
                }
            ),
        )
        try:
            con.execute(
                "UPDATE person_distinct_ids m SET person_id = r.new::UUID FROM _redirect r"
                " WHERE m.workspace_id = ? AND m.person_id = r.old::UUID",
                [workspace_id],
            )
            con.execute(
                "DELETE FROM persons WHERE workspace_id = ?"
                " AND id IN (SELECT old::UUID FROM _redirect)",
                [workspace_id],
            )
        finally:
            con.unregister("_redirect")
    changed = [(pid, p) for pid, p in persons.items() if p.changed and pid not in redirect]
    if changed:
        con.register(
            "_pupd",
            pa.table(
                {
                    "id": pa.array([pid for pid, _ in changed], pa.string()),
                    "properties": pa.array(
                        [orjson.dumps(p.properties).decode() for _, p in changed], pa.string()
                    ),
                    "is_identified": pa.array([p.is_identified for _, p in changed]),
                    "created_at": pa.array(
                        [p.created_at for _, p in changed], pa.timestamp("us", tz="UTC")
                    ),
                }
            ),
        )
        try:
            con.execute(
                "UPDATE persons p SET properties = u.properties::JSON,"
                " is_identified = u.is_identified, created_at = u.created_at"
                " FROM _pupd u WHERE p.workspace_id = ? AND p.id = u.id::UUID",
                [workspace_id],
            )
        finally:
            con.unregister("_pupd")
