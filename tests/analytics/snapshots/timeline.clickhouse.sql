SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT toString(person_id), distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (
  SELECT person_id
  FROM person_distinct_ids
  WHERE workspace_id = 1 AND distinct_id = 'u1'
);

SELECT toString(e.uuid) AS u, e.event, e.distinct_id, toInt64(toUnixTimestamp64Micro(e.timestamp)), CAST(e.properties AS VARCHAR)
FROM events AS e
WHERE e.workspace_id = 1 AND e.distinct_id IN ('u1')
ORDER BY e.timestamp DESC, u DESC
LIMIT 6;
