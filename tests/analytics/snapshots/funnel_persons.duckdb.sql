SELECT pn, t * 16 + c AS x
FROM (
  SELECT pn, t, CASE WHEN m0 THEN 1 WHEN m1 THEN 0 END AS c
  FROM (
    SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, epoch_us(e.timestamp) AS t, ((e.event IN ('view_item')) AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00') AS m0, ((e.event IN ('pay') AND ((CASE WHEN json_type(e.properties, '$."amount"') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(json_extract_string(e.properties, '$."amount"') AS DOUBLE) END) >= 100.0))) AS m1, m.pn AS pn
    FROM events AS e
    JOIN (
      SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
      FROM person_distinct_ids
      WHERE workspace_id = 1
    ) AS m ON m.distinct_id = e.distinct_id
    WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-10T16:00:00+00:00' AND e.event IN ('view_item', 'pay') AND e.timestamp < TIMESTAMPTZ '2026-11-09T16:00:00+00:00'
  ) AS s
) AS i
WHERE c IS NOT NULL;

SELECT CAST(f.person_id AS VARCHAR) AS pid, p.props, CAST(count(*) OVER () AS BIGINT) AS total
FROM (
  SELECT person_id
  FROM (
    SELECT ids.person_id AS person_id, CAST(NULL AS VARCHAR) AS bv, pp.depth AS depth, pp.d1 AS d1
    FROM funnel_persons AS pp
    JOIN (
      SELECT DISTINCT person_id, pn
      FROM (
        SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
        FROM person_distinct_ids
        WHERE workspace_id = 1
      ) AS m
    ) AS ids ON ids.pn = pp.pn
  ) AS pp
  WHERE depth = 1
) AS f
LEFT JOIN (
  SELECT id, CAST(properties AS VARCHAR) AS props
  FROM persons
  WHERE workspace_id = 1
) AS p ON p.id = f.person_id
ORDER BY pid
LIMIT 20 OFFSET 0;

SELECT CAST(person_id AS VARCHAR) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (CAST('6fff8abf-03a0-538b-a0e6-ca44bc36ba54' AS UUID), CAST('a2462e06-cba2-5b7e-a4bc-2106ef0696c9' AS UUID));
