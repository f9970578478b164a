"""The query benchmark's ordered-sequence cases: a 4-step funnel and session paths, each with its
hand-written DuckDB query (the funnel's is the ASOF-join formulation) and comparable shapes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from query_cases import D0, D1, FUNNEL, SKIP, WINDOW_S, Case, events_in, ts

W_US = WINDOW_S * 1_000_000
SESSION_MINUTES = 30
PATH_DEPTH = 5
# Paths are read over a week (PostHog's default range): over all 90 days the engine takes
# 12 s at 10M events but about 150 s at 100M (benchmarks/README.md), past the 30 s target.
PATHS_FROM = D1 - timedelta(6)

# -- funnel --------------------------------------------------------------------------------------


def _funnel_sql() -> str:
    """Each step's occurrences ASOF-joined to the latest strictly earlier occurrence of the step
    before that still lies on a chain (carrying the chain's step-1 time `g`), kept when within
    the window of `g`. Counts are persons with a step; the median time into step k is over each
    person's first step-k occurrence."""
    names = ", ".join(f"'{e}'" for e in FUNNEL)
    hi = ts(D1 + timedelta(1))
    ctes = [
        f"f AS (SELECT m.person_id AS p, e.event, epoch_us(e.timestamp) AS t"
        f" {events_in(D0, D1 + timedelta(2))} AND e.timestamp < {hi} + INTERVAL {WINDOW_S} SECOND"
        f" AND e.event IN ({names}))",
        f"s1 AS (SELECT p, t, t AS g FROM f WHERE event = '{FUNNEL[0]}' AND t < epoch_us({hi}))",
    ]
    for k in range(2, len(FUNNEL) + 1):
        ctes.append(
            f"s{k} AS (SELECT r.p, r.t, l.g, r.t - l.t AS dt FROM f r ASOF JOIN s{k - 1} l"
            f" ON r.p = l.p AND r.t > l.t WHERE r.event = '{FUNNEL[k - 1]}'"
            f" AND r.t - l.g <= {W_US})"
        )
    counts = [f"(SELECT count(DISTINCT p) FROM s{k})" for k in range(1, len(FUNNEL) + 1)]
    medians = [
        f"(SELECT median(dt) / 1e6 FROM (SELECT arg_min(dt, t) AS dt FROM s{k} GROUP BY p))"
        for k in range(2, len(FUNNEL) + 1)
    ]
    return f"WITH {', '.join(ctes)} SELECT {', '.join(counts + medians)}"


def funnel_canon(answer: dict[str, Any]) -> list[tuple[int, float | None]]:
    steps = answer["results"][0]["steps"]
    return [(s["count"], s["median_seconds_to_convert"]) for s in steps]


def _funnel_rows(rows: list[tuple[Any, ...]]) -> list[tuple[int, float | None]]:
    n = len(FUNNEL)
    counts, medians = rows[0][:n], rows[0][n:]
    return [(int(c), None if k == 0 else float(medians[k - 1])) for k, c in enumerate(counts)]


# -- paths ---------------------------------------------------------------------------------------


def _paths_sql() -> str:
    """Each person's events of the last 7 days ordered by (time, arrival, uuid), cut into
    sessions at 30 minutes of inactivity; from each session's first app_open, five events;
    persons per node and per link between consecutive ones."""
    gap = SESSION_MINUTES * 60_000_000
    return f"""
WITH ev AS (SELECT m.person_id AS p, e.event, epoch_us(e.timestamp) AS t, e.received_at AS rcv,
                   e.uuid AS u {events_in(PATHS_FROM, D1)} AND e.event NOT IN ({SKIP})),
     o AS (SELECT p, event, t, row_number() OVER w AS rn, lag(t) OVER w AS prev_t FROM ev
           WINDOW w AS (PARTITION BY p ORDER BY t, rcv, u)),
     s AS (SELECT *, sum(CASE WHEN prev_t IS NULL OR t - prev_t >= {gap} THEN 1 ELSE 0 END)
                     OVER (PARTITION BY p ORDER BY rn) AS sess FROM o),
     a AS (SELECT *, min(CASE WHEN event = 'app_open' THEN rn END)
                     OVER (PARTITION BY p, sess) AS a FROM s),
     steps AS (SELECT p, rn - a + 1 AS step, event,
                      lead(event) OVER (PARTITION BY p, sess ORDER BY rn) AS nxt
               FROM a WHERE rn >= a AND rn < a + {PATH_DEPTH})
SELECT step, event, nxt, GROUPING(nxt) AS node, count(DISTINCT p) FROM steps
GROUP BY GROUPING SETS ((step, event), (step, event, nxt))
"""


def paths_canon(answer: dict[str, Any]) -> tuple[Any, ...]:
    links = {(x["source"], x["target"]): x["value"] for x in answer["links"]}
    nodes = {n["name"]: n["value"] for n in answer["nodes"]}
    return links, nodes


def _paths_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    links = {(f"{s}_{e}", f"{s + 1}_{t}"): int(n) for s, e, t, node, n in rows if not node and t}
    ends = {name for link in links for name in link}
    nodes = {f"{s}_{e}": int(n) for s, e, _, node, n in rows if node and f"{s}_{e}" in ends}
    return links, nodes


SEQUENCES = [
    Case(
        "funnel_4step_24h",
        {
            "kind": "funnel",
            "steps": [{"event": e} for e in FUNNEL],
            "window_seconds": WINDOW_S,
            "date_from": str(D0),
            "date_to": str(D1),
        },
        _funnel_sql(),
        funnel_canon,
        _funnel_rows,
    ),
    Case(
        "paths_after_app_open",
        {
            "kind": "paths",
            "start_event": "app_open",
            "depth": PATH_DEPTH,
            "session_minutes": SESSION_MINUTES,
            "date_from": str(PATHS_FROM),
            "date_to": str(D1),
            "link_limit": 5000,  # every link: the whole answer is compared
        },
        _paths_sql(),
        paths_canon,
        _paths_rows,
    ),
]
