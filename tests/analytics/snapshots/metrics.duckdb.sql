SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE strftime((DATE '1970-01-01' + CAST(bk AS INTEGER)), '%Y-%m-%d') END AS bucket, CAST(count(DISTINCT CASE WHEN n0 > 0 THEN person_id END) AS DOUBLE), CAST(sum(n0) AS BIGINT), CAST(count(DISTINCT CASE WHEN n1 > 0 THEN person_id END) AS DOUBLE), CAST(sum(n1) AS BIGINT), CAST(coalesce(sum(s2), 0) AS DOUBLE), CAST(sum(n2) AS BIGINT)
FROM (
  SELECT s.*, s.bv0 AS bv
  FROM (
    SELECT m.person_id AS person_id, g.bk, g.bv0, g.n0, g.n1, g.n2, g.s2
    FROM (
      SELECT did, bk, NULL AS bv0, count(*) FILTER (WHERE c0 = 1) AS n0, count(*) AS n1, count(*) FILTER (WHERE c0 = 1) AS n2, sum(v2) AS s2
      FROM (
        SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS did, (((epoch_us(e.timestamp) + 28800000000) // 86400000000) - ((((epoch_us(e.timestamp) + 28800000000) // 86400000000) + 3) % 7)) AS bk, CASE WHEN e.event IN ('pay') THEN 1 ELSE 0 END AS c0, CASE WHEN e.event IN ('pay') THEN (CASE WHEN json_type(e.properties, '$."amount"') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(json_extract_string(e.properties, '$."amount"') AS DOUBLE) END) END AS v2
        FROM events AS e
        WHERE e.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
      ) AS ev
      GROUP BY did, bk
    ) AS g
    JOIN (
      SELECT distinct_id, person_id
      FROM person_distinct_ids
      WHERE workspace_id = 1
    ) AS m ON m.distinct_id = g.did
  ) AS s
) AS x
GROUP BY GROUPING SETS ((bv, bk), (bv));

SELECT bv, bucket, period, CAST(count(DISTINCT person_id) AS DOUBLE)
FROM (
  SELECT s.*, s.bv0 AS bv
  FROM (
    SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, strftime((DATE '1970-01-01' + CAST((((epoch_us(e.timestamp) + CASE WHEN epoch_us(e.timestamp) < 589914000000000 THEN CASE WHEN epoch_us(e.timestamp) < 545162400000000 THEN CASE WHEN epoch_us(e.timestamp) < 515527200000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 527014800000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 558464400000000 THEN 32400000000 ELSE CASE WHEN epoch_us(e.timestamp) < 577216800000000 THEN 28800000000 ELSE 32400000000 END END END ELSE CASE WHEN epoch_us(e.timestamp) < 640116000000000 THEN CASE WHEN epoch_us(e.timestamp) < 608666400000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 621968400000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 671565600000000 THEN CASE WHEN epoch_us(e.timestamp) < 653418000000000 THEN 32400000000 ELSE 28800000000 END ELSE CASE WHEN epoch_us(e.timestamp) < 684867600000000 THEN 32400000000 ELSE 28800000000 END END END END) // 86400000000) - ((((epoch_us(e.timestamp) + CASE WHEN epoch_us(e.timestamp) < 589914000000000 THEN CASE WHEN epoch_us(e.timestamp) < 545162400000000 THEN CASE WHEN epoch_us(e.timestamp) < 515527200000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 527014800000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 558464400000000 THEN 32400000000 ELSE CASE WHEN epoch_us(e.timestamp) < 577216800000000 THEN 28800000000 ELSE 32400000000 END END END ELSE CASE WHEN epoch_us(e.timestamp) < 640116000000000 THEN CASE WHEN epoch_us(e.timestamp) < 608666400000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 621968400000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 671565600000000 THEN CASE WHEN epoch_us(e.timestamp) < 653418000000000 THEN 32400000000 ELSE 28800000000 END ELSE CASE WHEN epoch_us(e.timestamp) < 684867600000000 THEN 32400000000 ELSE 28800000000 END END END END) // 86400000000) + 3) % 7)) AS INTEGER)), '%Y-%m-%d') AS bucket, strftime((DATE '1970-01-01' + CAST(((epoch_us(e.timestamp) + CASE WHEN epoch_us(e.timestamp) < 589914000000000 THEN CASE WHEN epoch_us(e.timestamp) < 545162400000000 THEN CASE WHEN epoch_us(e.timestamp) < 515527200000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 527014800000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 558464400000000 THEN 32400000000 ELSE CASE WHEN epoch_us(e.timestamp) < 577216800000000 THEN 28800000000 ELSE 32400000000 END END END ELSE CASE WHEN epoch_us(e.timestamp) < 640116000000000 THEN CASE WHEN epoch_us(e.timestamp) < 608666400000000 THEN 28800000000 ELSE CASE WHEN epoch_us(e.timestamp) < 621968400000000 THEN 32400000000 ELSE 28800000000 END END ELSE CASE WHEN epoch_us(e.timestamp) < 671565600000000 THEN CASE WHEN epoch_us(e.timestamp) < 653418000000000 THEN 32400000000 ELSE 28800000000 END ELSE CASE WHEN epoch_us(e.timestamp) < 684867600000000 THEN 32400000000 ELSE 28800000000 END END END END) // 86400000000) AS INTEGER)), '%Y-%m-%d') AS period, NULL AS bv0
    FROM events AS e
    JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
    WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
  ) AS s
) AS x
GROUP BY GROUPING SETS ((bv, bucket, period), (bv, period));
