SELECT DISTINCT e.event
FROM events AS e
WHERE e.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
ORDER BY 1;

SELECT count(DISTINCT person_id)
FROM person_distinct_ids
WHERE workspace_id = 1;

SELECT CAST(pn - 1 AS UBIGINT) * CAST(604800000000 AS UBIGINT) + CAST(t AS UBIGINT) AS k, code
FROM (
  SELECT s.pn AS pn, s.t AS t, s.rcv AS rcv, s.uid AS uid, n.code AS code
  FROM (
    SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, m.pn AS pn, epoch_us(e.timestamp) - epoch_us(TIMESTAMPTZ '2026-11-01T16:00:00+00:00') AS t, e.received_at AS rcv, e.uuid AS uid
    FROM events AS e
    JOIN (
      SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id) AS pn
      FROM person_distinct_ids
      WHERE workspace_id = 1
    ) AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
    WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2026-11-01T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-08T16:00:00+00:00' AND e.event NOT IN ('$BindID', '$UnbindID', '$create_alias', '$groupidentify', '$identify', '$item_delete', '$item_set', '$merge_dangerously', '$profile_append', '$profile_delete', '$profile_increment', '$profile_set', '$profile_set_once', '$profile_unset', '$set', '$set_once', '$unset')
  ) AS s
  JOIN (VALUES ('add_to_cart', 0), ('app_open', 1), ('pay', 2), ('sign_up', 3), ('view_item', 4)) AS n(name, code) ON n.name = s.event
) AS c
ORDER BY k;
