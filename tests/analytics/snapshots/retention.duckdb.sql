SELECT CAST(count(*) AS BIGINT), CAST(epoch_us(max(timestamp)) AS BIGINT)
FROM events
WHERE workspace_id = 1;

SELECT bv, c, k, CAST(count(*) AS BIGINT)
FROM (
  WITH co AS (
    SELECT person_id, c, cbv[1] AS bv
    FROM (
      SELECT m.person_id AS person_id, min(g.fp) AS c, argMin([json_extract_string(p.properties, '$."channel"')], g.fp) AS cbv
      FROM (
        SELECT distinct_id, min(p) AS fp
        FROM (
          SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, ((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS p
          FROM events AS e
          WHERE e.workspace_id = 1 AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('sign_up')
        ) AS ev
        GROUP BY distinct_id
      ) AS g
      JOIN person_distinct_ids AS m ON m.distinct_id = g.distinct_id
      LEFT JOIN persons AS p ON p.workspace_id = m.workspace_id AND p.id = m.person_id
      WHERE m.workspace_id = 1
      GROUP BY m.person_id
    ) AS cs
    WHERE c BETWEEN 20759 AND 20765
  )
  SELECT person_id, c, bv, 0 AS k
  FROM co
  UNION ALL SELECT DISTINCT co.person_id AS person_id, co.c AS c, co.bv AS bv, r.p - co.c AS k
  FROM (
    SELECT distinct_id, p
    FROM (
      SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, ((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS p
      FROM events AS e
      WHERE e.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-02T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-15T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
    ) AS ev
    GROUP BY distinct_id, p
  ) AS r
  JOIN person_distinct_ids AS m ON m.distinct_id = r.distinct_id
  JOIN co ON co.person_id = m.person_id
  WHERE m.workspace_id = 1 AND r.p > co.c AND r.p <= co.c + 7
) AS m
GROUP BY bv, c, k;
