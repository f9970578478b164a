SELECT pn, t * 16 + c AS x
FROM (
  SELECT pn, t, CASE WHEN m0 THEN 2 WHEN m1 THEN 1 WHEN m2 THEN 0 END AS c
  FROM (
    SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, epoch_us(e.timestamp) AS t, ((e.event IN ('view_item')) AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00') AS m0, ((e.event IN ('add_to_cart'))) AS m1, ((e.event IN ('pay'))) AS m2, m.pn AS pn
    FROM events AS e
    JOIN (
      SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
      FROM person_distinct_ids
      WHERE workspace_id = 1
    ) AS m ON m.distinct_id = e.distinct_id
    WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-10T16:00:00+00:00' AND e.event IN ('view_item', 'add_to_cart', 'pay') AND e.timestamp < TIMESTAMPTZ '2026-11-08T17:00:00+00:00'
  ) AS s
) AS i
WHERE c IS NOT NULL;

SELECT bv AS bv_out, CAST(count(*) FILTER (WHERE depth >= 1) AS BIGINT), CAST(count(*) FILTER (WHERE depth >= 2) AS BIGINT), CAST(count(*) FILTER (WHERE depth >= 3) AS BIGINT), CAST(quantile_cont(d1, 0.5) AS DOUBLE), CAST(quantile_cont(d2, 0.5) AS DOUBLE)
FROM (
  SELECT CASE WHEN ft.b.n THEN NULL ELSE ft.b.v END AS bv, pp.depth AS depth, pp.d1 AS d1, pp.d2 AS d2
  FROM funnel_persons AS pp
  JOIN (
    SELECT pn, min(struct_pack(t := t, n := bv IS NULL, v := coalesce(bv, ''))) AS b
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, epoch_us(e.timestamp) AS t, m.pn AS pn, json_extract_string(e.properties, '$."channel"') AS bv
      FROM events AS e
      JOIN (
        SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
        FROM person_distinct_ids
        WHERE workspace_id = 1
      ) AS m ON m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('view_item')
    ) AS s
    GROUP BY pn
  ) AS ft ON ft.pn = pp.pn
) AS pp
GROUP BY bv_out;

SELECT CASE WHEN bv IN ('小红书') THEN bv ELSE '$other' END AS bv_out, CAST(count(*) FILTER (WHERE depth >= 1) AS BIGINT), CAST(count(*) FILTER (WHERE depth >= 2) AS BIGINT), CAST(count(*) FILTER (WHERE depth >= 3) AS BIGINT), CAST(quantile_cont(d1, 0.5) AS DOUBLE), CAST(quantile_cont(d2, 0.5) AS DOUBLE)
FROM (
  SELECT CASE WHEN ft.b.n THEN NULL ELSE ft.b.v END AS bv, pp.depth AS depth, pp.d1 AS d1, pp.d2 AS d2
  FROM funnel_persons AS pp
  JOIN (
    SELECT pn, min(struct_pack(t := t, n := bv IS NULL, v := coalesce(bv, ''))) AS b
    FROM (
      SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, epoch_us(e.timestamp) AS t, m.pn AS pn, json_extract_string(e.properties, '$."channel"') AS bv
      FROM events AS e
      JOIN (
        SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
        FROM person_distinct_ids
        WHERE workspace_id = 1
      ) AS m ON m.distinct_id = e.distinct_id
      WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event IN ('view_item')
    ) AS s
    GROUP BY pn
  ) AS ft ON ft.pn = pp.pn
) AS pp
GROUP BY bv_out;
