SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT toInt64(count(*)), toInt64(toUnixTimestamp64Micro(max(timestamp)))
FROM events
WHERE workspace_id = 1;

SELECT bv, c, k, toInt64(count(*))
FROM (
  SELECT person_id, c, cbvl[1] AS bv, p - c AS k
  FROM (
    SELECT person_id, p, r, min(CASE WHEN s = 1 THEN p END) OVER (PARTITION BY person_id) AS c, argMin(bvl, p) FILTER (WHERE s = 1) OVER (PARTITION BY person_id) AS cbvl
    FROM (
      SELECT m.person_id AS person_id, g.ps AS ps, toInt64(dateDiff('day', toDate('1970-01-05'), g.ps) / 7) AS p, CASE WHEN g.ps < toDate('2026-11-09') THEN 1 ELSE 0 END AS s, CASE WHEN max(g.returned) = 1 AND g.ps >= toDate('2026-11-09') THEN 1 ELSE 0 END AS r, argMin(g.fbv, (g.fts, g.fbv[1] IS NULL, coalesce(g.fbv[1], ''))) AS bvl
      FROM (
        SELECT distinct_id, ps, max(is_return) AS returned, min(ts) AS fts, argMin([bv], (ts, bv IS NULL, coalesce(bv, ''))) AS fbv
        FROM (
          SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS distinct_id, addDays(toDate('1970-01-01'), toInt32((intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) - ((intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) + 3) % 7)))) AS ps, CASE WHEN e.event IN ('pay') THEN 1 ELSE 0 END AS is_return, multiIf(NOT JSONHas(e.properties, 'platform'), NULL, JSONType(e.properties, 'platform') = 'String', JSONExtractString(e.properties, 'platform'), JSONType(e.properties, 'platform') = 'Null', NULL, JSONExtractRaw(e.properties, 'platform')) AS bv
          FROM events AS e
          WHERE e.workspace_id = 1 AND e.timestamp < toDateTime64('2026-11-22 16:00:00.000000', 6, 'UTC') AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset') AND (e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') OR (e.event IN ('pay') AND e.timestamp >= toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC')))
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
