"""The query benchmark's person-level cases: RFM layers, a behavioural segment and one user's
timeline, each with its hand-written DuckDB query and comparable shapes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from query_cases import D0, D1, DAY, SEGMENT_RULE, TIMELINE_USER, WORKSPACE, Case, events_in

PAGE = 100

# -- RFM -----------------------------------------------------------------------------------------

# Segment index as in queries/rfm.py SEGMENTS: M high first, then R, then F.
RFM_SQL = f"""
WITH o AS (SELECT m.person_id AS p, {DAY} AS d,
                  CAST(e.mp_amount__num AS DECIMAL(18, 2)) AS amount
           {events_in(D0, D1)} AND e.event = 'pay'),
     v AS (SELECT p, DATE '{D1}' - max(d) AS rec, count(*) AS f, sum(amount) AS mon
           FROM o GROUP BY p),
     s AS (SELECT *, 1 + floor(5 * (rank() OVER (ORDER BY rec DESC) - 1) / count(*) OVER ()) AS rs,
                     1 + floor(5 * (rank() OVER (ORDER BY f) - 1) / count(*) OVER ()) AS fs,
                     1 + floor(5 * (rank() OVER (ORDER BY mon) - 1) / count(*) OVER ()) AS ms
           FROM v),
     g AS (SELECT *, 4 * CAST(ms <= avg(ms) OVER () AS INT) + 2 * CAST(rs <= avg(rs) OVER () AS INT)
                     + CAST(fs <= avg(fs) OVER () AS INT) AS seg FROM s),
     top AS (SELECT * FROM g ORDER BY mon DESC, f DESC, rec, CAST(p AS VARCHAR) LIMIT {PAGE})
SELECT NULL AS pid, NULL AS did, NULL AS rec, NULL AS f, NULL AS mon, NULL AS rs, NULL AS fs,
       NULL AS ms, seg, count(*) AS users FROM g GROUP BY seg
UNION ALL
SELECT CAST(top.p AS VARCHAR), min(n.distinct_id), rec, f, mon, rs, fs, ms, seg, NULL
FROM top JOIN person_distinct_ids n ON n.workspace_id = {WORKSPACE} AND n.person_id = top.p
GROUP BY ALL
"""


def rfm_canon(answer: dict[str, Any]) -> tuple[Any, ...]:
    from opsloop.analytics.queries.rfm import SEGMENTS

    index = {zh: i for i, (zh, _, _) in enumerate(SEGMENTS)}
    summary = {index[s["segment"]]: s["users"] for s in answer["summary"] if s["users"]}
    page = [
        (
            r["person_id"],
            r["distinct_id"],
            r["recency_days"],
            r["frequency"],
            round(float(r["monetary"]), 2),
            r["r_score"],
            r["f_score"],
            r["m_score"],
            index[r["segment"]],
        )
        for r in answer["results"]
    ]
    return summary, page


def _rfm_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    summary = {int(r[8]): int(r[9]) for r in rows if r[0] is None}
    page = sorted(
        (
            (str(r[0]), str(r[1]), int(r[2]), int(r[3]), round(float(r[4]), 2), *map(int, r[5:9]))
            for r in rows
            if r[0] is not None
        ),
        key=lambda r: (-r[4], -r[3], r[2], r[0]),
    )
    return summary, page


# -- segment -------------------------------------------------------------------------------------


def _segment_sql() -> str:
    pays = events_in(D1 - timedelta(29), D1)
    opens = events_in(D1 - timedelta(6), D1)
    return f"""
WITH payers AS (SELECT m.person_id {pays} AND e.event = 'pay' GROUP BY 1 HAVING count(*) >= 2),
     openers AS (SELECT DISTINCT m.person_id {opens} AND e.event = 'app_open'),
     members AS (SELECT p.id, p.properties FROM persons p
                 WHERE p.workspace_id = {WORKSPACE}
                   AND json_extract_string(p.properties, '$.channel') = '小红书'
                   AND p.id IN (SELECT person_id FROM payers)
                   AND p.id NOT IN (SELECT person_id FROM openers)),
     page AS (SELECT *, count(*) OVER () AS n FROM members ORDER BY CAST(id AS VARCHAR)
              LIMIT {PAGE})
SELECT CAST(page.id AS VARCHAR) AS pid, n, CAST(page.properties AS VARCHAR),
       list(m.distinct_id ORDER BY m.distinct_id)
FROM page JOIN person_distinct_ids m ON m.workspace_id = {WORKSPACE} AND m.person_id = page.id
GROUP BY ALL ORDER BY pid
"""


def segment_canon(answer: dict[str, Any]) -> tuple[Any, ...]:
    page = [
        (r["person_id"], tuple(r["distinct_ids"]), sorted(r["properties"].items()))
        for r in answer["results"]
    ]
    return answer["count"], page


def _segment_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    import orjson

    page = [(pid, tuple(dids), sorted(orjson.loads(props).items())) for pid, _, props, dids in rows]
    return (int(rows[0][1]) if rows else 0), page


# -- timeline ------------------------------------------------------------------------------------

TIMELINE_SQL = f"""
SELECT CAST(e.uuid AS VARCHAR) AS u, e.event, epoch_us(e.timestamp)
FROM events e
WHERE e.workspace_id = {WORKSPACE} AND e.distinct_id IN (
    SELECT distinct_id FROM person_distinct_ids WHERE workspace_id = {WORKSPACE} AND person_id = (
        SELECT person_id FROM person_distinct_ids
        WHERE workspace_id = {WORKSPACE} AND distinct_id = '{TIMELINE_USER}'))
ORDER BY e.timestamp DESC, u DESC LIMIT 50
"""


def timeline_canon(answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["uuid"], r["event"], r["timestamp"]) for r in answer["results"]]


def _timeline_rows(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    from datetime import UTC, datetime

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [(u, ev, (epoch + timedelta(microseconds=int(t))).isoformat()) for u, ev, t in rows]


PERSONS = [
    Case(
        "rfm_quintiles",
        {"kind": "rfm", "as_of": str(D1), "date_from": str(D0), "limit": PAGE},
        RFM_SQL,
        rfm_canon,
        _rfm_rows,
    ),
    Case(
        "segment_behaviour",
        {"kind": "segment", "rule": SEGMENT_RULE, "as_of": str(D1), "limit": PAGE},
        _segment_sql(),
        segment_canon,
        _segment_rows,
    ),
    Case(
        "timeline_one_user",
        {"kind": "timeline", "distinct_id": TIMELINE_USER, "limit": 50},
        TIMELINE_SQL,
        timeline_canon,
        _timeline_rows,
    ),
]
