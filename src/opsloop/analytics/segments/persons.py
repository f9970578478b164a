"""Small look-ups about persons shared by the person-level answers (RFM, segments, timeline)."""

from __future__ import annotations

from collections.abc import Sequence

from opsloop.analytics.context import QueryContext

# Page sizes are bounded by the queries' limits; past this the id list is split into chunks
# (ClickHouse limits the length of a query's text).
CHUNK = 2_000


def distinct_ids_of(ctx: QueryContext, person_ids: Sequence[str]) -> dict[str, list[str]]:
    """Every distinct_id of each person, sorted, keyed by person id (as text)."""
    d = ctx.dialect
    out: dict[str, list[str]] = {}
    ids = list(dict.fromkeys(person_ids))
    for start in range(0, len(ids), CHUNK):
        listed = ", ".join(d.string(pid) for pid in ids[start : start + CHUNK])
        rows = ctx.engine.rows(
            f"SELECT {d.uuid_text('person_id')} AS pid, distinct_id FROM person_distinct_ids"
            f" WHERE workspace_id = {ctx.workspace_id} AND {d.uuid_text('person_id')} IN ({listed})"
        )
        for pid, did in rows:
            out.setdefault(str(pid), []).append(str(did))
    for values in out.values():
        values.sort()
    return out
