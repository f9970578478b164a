SELECT p, CAST(count(*) AS BIGINT), CAST(sum(CASE WHEN prev = -1000000000 THEN 1 ELSE 0 END) AS BIGINT), CAST(sum(CASE WHEN prev = p - 1 THEN 1 ELSE 0 END) AS BIGINT)
FROM (
  SELECT p, lag(p, 1, -1000000000) OVER (PARTITION BY person_id ORDER BY p) AS prev
  FROM (
    SELECT m.person_id AS person_id, g.p AS p
    FROM (
      SELECT distinct_id, p
      FROM (
        SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, greatest(((((epoch_us(e.timestamp) + 28800000000) // 86400000000) - 4) // 7), 2963) AS p
        FROM events AS e
        WHERE e.workspace_id = 1 AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('app_open')
      ) AS ev
      GROUP BY distinct_id, p
    ) AS g
    JOIN person_distinct_ids AS m ON m.distinct_id = g.distinct_id
    WHERE m.workspace_id = 1
    GROUP BY m.person_id, g.p
  ) AS pairs
) AS w
WHERE p >= 2964
GROUP BY p;
