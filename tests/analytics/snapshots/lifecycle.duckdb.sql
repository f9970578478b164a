SELECT p, CAST(count(*) AS BIGINT), CAST(sum(CASE WHEN prev = -1000000000 THEN 1 ELSE 0 END) AS BIGINT), CAST(sum(CASE WHEN prev = p - 1 THEN 1 ELSE 0 END) AS BIGINT)
FROM (
  SELECT p, lag(p, 1, -1000000000) OVER (PARTITION BY person_id ORDER BY p) AS prev
  FROM (
    SELECT m.person_id AS person_id, g.ps AS ps, CAST(date_diff('day', DATE '1970-01-05', g.ps) / 7 AS BIGINT) AS p
    FROM (
      SELECT distinct_id, ps
      FROM (
        SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, greatest((DATE '1970-01-01' + CAST((((epoch_us(e.timestamp) + 28800000000) // 86400000000) - ((((epoch_us(e.timestamp) + 28800000000) // 86400000000) + 3) % 7)) AS INTEGER)), DATE '2026-10-19') AS ps
        FROM events AS e
        WHERE e.workspace_id = 1 AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('app_open')
      ) AS ev
      GROUP BY distinct_id, ps
    ) AS g
    JOIN person_distinct_ids AS m ON m.distinct_id = g.distinct_id
    WHERE m.workspace_id = 1
    GROUP BY m.person_id, g.ps
  ) AS pairs
) AS w
WHERE p >= 2964
GROUP BY p;
