SELECT CAST(count(*) AS BIGINT), CAST(epoch_us(max(timestamp)) AS BIGINT)
FROM events
WHERE workspace_id = 1;

SELECT bv, c, k, CAST(count(*) AS BIGINT)
FROM (
  SELECT person_id, c, cbvl[1] AS bv, p - c AS k
  FROM (
    SELECT person_id, p, r, min(CASE WHEN s = 1 THEN p END) OVER (PARTITION BY person_id) AS c, argMin(bvl, p) FILTER (WHERE s = 1) OVER (PARTITION BY person_id) AS cbvl
    FROM (
      SELECT m.person_id AS person_id, g.ps AS ps, CAST(date_diff('day', DATE '1970-01-05', g.ps) / 7 AS BIGINT) AS p, CASE WHEN g.ps < DATE '2026-11-09' THEN 1 ELSE 0 END AS s, CASE WHEN max(g.returned) = 1 AND g.ps >= DATE '2026-11-09' THEN 1 ELSE 0 END AS r, argMin(g.fbv, (g.fts, g.fbv[1] IS NULL, coalesce(g.fbv[1], ''))) AS bvl
      FROM (
        SELECT distinct_id, ps, max(is_return) AS returned, min(ts) AS fts, argMin([bv], (ts, bv IS NULL, coalesce(bv, ''))) AS fbv
        FROM (
          SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, (DATE '1970-01-01' + CAST((((epoch_us(e.timestamp) + 28800000000) // 86400000000) - ((((epoch_us(e.timestamp) + 28800000000) // 86400000000) + 3) % 7)) AS INTEGER)) AS ps, CASE WHEN e.event IN ('pay') THEN 1 ELSE 0 END AS is_return, json_extract_string(e.properties, '$."platform"') AS bv
          FROM events AS e
          WHERE e.workspace_id = 1 AND e.timestamp < TIMESTAMPTZ '2026-11-22T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset') AND (e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' OR (e.event IN ('pay') AND e.timestamp >= TIMESTAMPTZ '2026-11-08T16:00:00+00:00'))
        ) AS ev
        GROUP BY distinct_id, ps
      ) AS g
      JOIN person_distinct_ids AS m ON m.distinct_id = g.distinct_id
      WHERE m.workspace_id = 1
      GROUP BY m.person_id, g.ps
    ) AS pairs
  ) AS w
  WHERE c BETWEEN 2965 AND 2965 AND (p = c OR (r = 1 AND p > c AND p <= c + 2))
) AS m
GROUP BY bv, c, k;
