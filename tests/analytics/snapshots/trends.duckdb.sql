SELECT bv, strftime((DATE '1970-01-01' + CAST(bk AS INTEGER)), '%Y-%m-%d') AS bucket, CAST(sum(value) AS DOUBLE)
FROM (
  SELECT e.timestamp AS ts, e.event AS event, ((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS bk, json_extract_string(e.properties, '$."platform"') AS bv, (CASE WHEN json_type(e.properties, '$."amount"') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(json_extract_string(e.properties, '$."amount"') AS DOUBLE) END) AS value
  FROM events AS e
  WHERE e.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('pay')
) AS s
GROUP BY bv, bk;

SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE strftime((DATE '1970-01-01' + CAST(bk AS INTEGER)), '%Y-%m-%d') END AS bucket, CAST(count(DISTINCT person_id) AS DOUBLE)
FROM (
  SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, ((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS bk, json_extract_string(e.properties, '$."platform"') AS bv
  FROM events AS e
  JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
  LEFT JOIN persons AS p ON p.workspace_id = m.workspace_id AND p.id = m.person_id
  WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('app_open') AND (json_extract_string(p.properties, '$."channel"') IS NULL OR json_extract_string(p.properties, '$."channel"') <> '百度搜索')
) AS s
GROUP BY GROUPING SETS ((bv, bk), (bv));

SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE strftime((DATE '1970-01-01' + CAST(bk AS INTEGER)), '%Y-%m-%d') END AS bucket, CAST(count(DISTINCT person_id) AS DOUBLE)
FROM (
  SELECT m.person_id AS person_id, g.bk AS bk, g.bv AS bv
  FROM (
    SELECT did, bk, bv
    FROM (
      SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS did, ((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS bk, json_extract_string(e.properties, '$."platform"') AS bv
      FROM events AS e
      WHERE e.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('pay')
    ) AS ev
    GROUP BY did, bk, bv
  ) AS g
  JOIN (
    SELECT distinct_id, person_id
    FROM person_distinct_ids
    WHERE workspace_id = 1
  ) AS m ON m.distinct_id = g.did
) AS s
GROUP BY GROUPING SETS ((bv, bk), (bv));
