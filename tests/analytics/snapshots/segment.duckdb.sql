SELECT *
FROM (
  SELECT CAST(p.id AS VARCHAR) AS pid, CAST(p.properties AS VARCHAR) AS props, CAST(count(*) OVER () AS BIGINT) AS total
  FROM persons AS p
  WHERE p.workspace_id = 1 AND (p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-10-16T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-15T16:00:00+00:00' AND e.event IN ('pay')
    ) AS s
  ) AND coalesce((json_extract_string(p.properties, '$."channel"') = '小红书'), false) AND (NOT CAST(p.id AS VARCHAR) IN ('a2462e06-cba2-5b7e-a4bc-2106ef0696c9', '00000000-0000-0000-0000-0000000000aa')) AND (p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, (DATE '1970-01-01' + CAST(((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS INTEGER)) AS day
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-15T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
    ) AS s
    GROUP BY person_id
    HAVING max(CASE WHEN day >= CAST('2026-11-09' AS DATE) THEN 1 ELSE 0 END) = 1 AND max(CASE WHEN day >= CAST('2026-11-02' AS DATE) AND day < CAST('2026-11-09' AS DATE) THEN 1 ELSE 0 END) = 1
  ) OR p.id IN (
    SELECT person_id
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event
      FROM events AS e
      JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-15T16:00:00+00:00' AND e.event IN ('share')
    ) AS s
  )))
) AS m
ORDER BY pid
LIMIT 10 OFFSET 0;

SELECT CAST(person_id AS VARCHAR) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (CAST('6cc2a2ef-df18-50e7-a123-af93fd864ded' AS UUID));
