SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT p, toInt64(count(*)), toInt64(sum(CASE WHEN prev = -1000000000 THEN 1 ELSE 0 END)), toInt64(sum(CASE WHEN prev = p - 1 THEN 1 ELSE 0 END))
FROM (
  SELECT p, lag(p, 1, -1000000000) OVER (PARTITION BY person_id ORDER BY p) AS prev
  FROM (
    SELECT m.person_id AS person_id, g.p AS p
    FROM (
      SELECT distinct_id, p
      FROM (
        SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, greatest(intDiv((intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) - 4), 7), 2963) AS p
        FROM events AS e
        WHERE e.workspace_id = 1 AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.event IN ('app_open')
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
