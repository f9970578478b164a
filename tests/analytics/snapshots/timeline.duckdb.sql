SELECT CAST(person_id AS VARCHAR), distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (
  SELECT person_id
  FROM person_distinct_ids
  WHERE workspace_id = 1 AND distinct_id = 'u1'
);

SELECT CAST(e.uuid AS VARCHAR) AS u, e.event, e.distinct_id, CAST(epoch_us(e.timestamp) AS BIGINT), CAST(e.properties AS VARCHAR)
FROM events AS e
WHERE e.workspace_id = 1 AND e.distinct_id IN ('u1')
ORDER BY e.timestamp DESC, u DESC
LIMIT 6;
