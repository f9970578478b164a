SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT toString(f.person_id) AS pid, p.props, toInt64(count(*) OVER ()) AS total
FROM (
  SELECT person_id
  FROM (
    SELECT person_id, CAST(NULL AS Nullable(String)) AS bv, toInt64(1 + (p1 > 0)) AS depth, d1
    FROM (
      SELECT person_id, arraySort(groupArray(x)) AS xs, arrayMap(v -> intDiv(v, 16), xs) AS ts, arrayMap(v -> v % 16, xs) AS cs, arrayFill(z -> z > -4611686018427387904, arrayMap((c, t) -> if(c = 1, t, -4611686018427387904), cs, ts)) AS g0, g0 AS lt0, arrayMap((c, g, t) -> c = 0 AND g >= t - 86400000000, cs, g0, ts) AS v1, arrayFirstIndex(v -> v, v1) AS p1, if(p1 > 0, ts[p1] - lt0[p1], NULL) AS d1
      FROM (
        SELECT person_id, t * 16 + code AS x, code
        FROM (
          SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, toUnixTimestamp64Micro(e.timestamp) AS t, ((e.event IN ('view_item')) AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC')) AS m0, ((e.event IN ('pay') AND (if(JSONType(e.properties, 'amount') IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(e.properties, 'amount'), NULL) >= 100.0))) AS m1
          FROM events AS e
          JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
          WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-10 16:00:00.000000', 6, 'UTC') AND e.event IN ('view_item', 'pay') AND e.timestamp < toDateTime64('2026-11-09 16:00:00.000000', 6, 'UTC')
        )
        ARRAY JOIN arrayFilter(c -> c >= 0, [if(m0, 1, -1), if(m1, 0, -1)]) AS code
      )
      GROUP BY person_id
      HAVING countIf(code = 1) > 0
    )
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

SELECT toString(person_id) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (toUUID('6fff8abf-03a0-538b-a0e6-ca44bc36ba54'), toUUID('a2462e06-cba2-5b7e-a4bc-2106ef0696c9'));
