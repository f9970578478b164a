SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT step, event, lk, toInt64(GROUPING(step)) AS total, toInt64(GROUPING(lk)) AS node, toInt64(uniqExact(person_id)) AS persons
FROM (
  SELECT person_id, toInt64(rn - a + 1) AS step, event, CASE WHEN rn + 1 < a + 4 THEN nxt END AS lk
  FROM (
    SELECT person_id, event, rn, nxt, min(CASE WHEN event = 'app_open' THEN rn END) OVER (PARTITION BY person_id, sess) AS a
    FROM (
      SELECT person_id, event, row_number() OVER (PARTITION BY person_id ORDER BY rn0) AS rn, sess, CASE WHEN leadInFrame(toNullable(sess)) OVER (PARTITION BY person_id ORDER BY rn0 ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) = sess THEN leadInFrame(toNullable(event)) OVER (PARTITION BY person_id ORDER BY rn0 ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) END AS nxt
      FROM (
        SELECT person_id, event, rn0, max(CASE WHEN prev_t IS NULL OR t - prev_t >= 1800000000 THEN rn0 END) OVER (PARTITION BY person_id ORDER BY rn0 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sess, (prev_t IS NULL OR t - prev_t >= 1800000000 OR prev_event <> event) AS kept
        FROM (
          SELECT person_id, event, t, row_number() OVER (PARTITION BY person_id ORDER BY t, rcv, uid) AS rn0, lagInFrame(toNullable(t)) OVER (PARTITION BY person_id ORDER BY t, rcv, uid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_t, lagInFrame(toNullable(event)) OVER (PARTITION BY person_id ORDER BY t, rcv, uid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev_event
          FROM (
            SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, toUnixTimestamp64Micro(e.timestamp) AS t, e.received_at AS rcv, toString(e.uuid) AS uid
            FROM events AS e
            JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
            WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
          ) AS s
        ) AS f
      ) AS m
      WHERE kept
    ) AS n
  ) AS x
  WHERE rn >= a AND rn < a + 4
) AS p
GROUP BY GROUPING SETS ((step, event), (step, event, lk), ());
