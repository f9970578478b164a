SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT toString(person_id)
FROM person_distinct_ids
WHERE workspace_id = 1 AND distinct_id = 'u1'
LIMIT 1;

SELECT toString(person_id) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND toString(person_id) IN ('6cc2a2ef-df18-50e7-a123-af93fd864ded');

SELECT toString(e.uuid) AS u, e.event, e.distinct_id, toInt64(toUnixTimestamp64Micro(e.timestamp)), CAST(e.properties AS VARCHAR)
FROM events AS e
WHERE e.workspace_id = 1 AND e.distinct_id IN ('u1')
ORDER BY e.timestamp DESC, u DESC
LIMIT 6;
