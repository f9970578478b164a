SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT *
FROM (
  SELECT toString(p.id) AS pid, CAST(p.properties AS VARCHAR) AS props, toInt64(count(*) OVER ()) AS total
  FROM persons AS p
  WHERE p.workspace_id = 1 AND (p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-10-16 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-15 16:00:00.000000', 6, 'UTC') AND e.event IN ('pay')
    ) AS s
  ) AND coalesce((multiIf(NOT JSONHas(p.properties, 'channel'), NULL, JSONType(p.properties, 'channel') = 'String', JSONExtractString(p.properties, 'channel'), JSONType(p.properties, 'channel') = 'Null', NULL, JSONExtractRaw(p.properties, 'channel')) = '小红书'), false) AND (NOT toString(p.id) IN ('a2462e06-cba2-5b7e-a4bc-2106ef0696c9', '00000000-0000-0000-0000-0000000000aa')) AND (p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, addDays(toDate('1970-01-01'), toInt32(intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000))) AS day
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-15 16:00:00.000000', 6, 'UTC') AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
    ) AS s
    GROUP BY person_id
    HAVING max(CASE WHEN day >= CAST('2026-11-09' AS DATE) THEN 1 ELSE 0 END) = 1 AND max(CASE WHEN day >= CAST('2026-11-02' AS DATE) AND day < CAST('2026-11-09' AS DATE) THEN 1 ELSE 0 END) = 1
  ) OR p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-15 16:00:00.000000', 6, 'UTC') AND e.event IN ('share')
    ) AS s
  )))
) AS m
ORDER BY pid
LIMIT 10 OFFSET 0;

SELECT toString(person_id) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (toUUID('6cc2a2ef-df18-50e7-a123-af93fd864ded'));
