SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT bv AS bv_out, toInt64(countIf(depth >= 1)), toInt64(countIf(depth >= 2)), toInt64(countIf(depth >= 3)), toFloat64(quantileExactInclusive(0.5)(d1)), toFloat64(quantileExactInclusive(0.5)(d2))
FROM (
  SELECT person_id, if(b.2, NULL, b.3) AS bv, toInt64(1 + (p1 > 0) + (p2 > 0)) AS depth, d1, d2
  FROM (
    SELECT person_id, arraySort(groupArray(x)) AS xs, arrayMap(v -> intDiv(v, 16), xs) AS ts, arrayMap(v -> v % 16, xs) AS cs, arrayFill(z -> z > -4611686018427387904, arrayMap((c, t) -> if(c = 2, t, -4611686018427387904), cs, ts)) AS g0, g0 AS lt0, arrayMap((c, g, t) -> c = 1 AND g >= t - 3600000000, cs, g0, ts) AS v1, arrayFirstIndex(v -> v, v1) AS p1, if(p1 > 0, ts[p1] - lt0[p1], NULL) AS d1, arrayFill(z -> z > -4611686018427387904, arrayMap((v, g) -> if(v, g, -4611686018427387904), v1, g0)) AS g1, arrayFill(z -> z > -4611686018427387904, arrayMap((v, t) -> if(v, t, -4611686018427387904), v1, ts)) AS lt1, arrayMap((c, g, t) -> c = 0 AND g >= t - 3600000000, cs, g1, ts) AS v2, arrayFirstIndex(v -> v, v2) AS p2, if(p2 > 0, ts[p2] - lt1[p2], NULL) AS d2, minIf(tuple(x, isNull(bv), ifNull(bv, '')), code = 2) AS b
    FROM (
      SELECT person_id, t * 16 + code AS x, code, bv
      FROM (
        SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, toUnixTimestamp64Micro(e.timestamp) AS t, ((e.event IN ('view_item')) AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC')) AS m0, ((e.event IN ('add_to_cart'))) AS m1, ((e.event IN ('pay'))) AS m2, multiIf(NOT JSONHas(e.properties, 'channel'), NULL, JSONType(e.properties, 'channel') = 'String', JSONExtractString(e.properties, 'channel'), JSONType(e.properties, 'channel') = 'Null', NULL, JSONExtractRaw(e.properties, 'channel')) AS bv
        FROM events AS e
        JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
        WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-10 16:00:00.000000', 6, 'UTC') AND e.event IN ('view_item', 'add_to_cart', 'pay') AND e.timestamp < toDateTime64('2026-11-08 17:00:00.000000', 6, 'UTC')
      )
      ARRAY JOIN arrayFilter(c -> c >= 0, [if(m0, 2, -1), if(m1, 1, -1), if(m2, 0, -1)]) AS code
    )
    GROUP BY person_id
    HAVING countIf(code = 2) > 0
  )
) AS pp
GROUP BY bv_out;

SELECT CASE WHEN bv IN ('小红书') THEN bv ELSE '$other' END AS bv_out, toInt64(countIf(depth >= 1)), toInt64(countIf(depth >= 2)), toInt64(countIf(depth >= 3)), toFloat64(quantileExactInclusive(0.5)(d1)), toFloat64(quantileExactInclusive(0.5)(d2))
FROM (
  SELECT person_id, if(b.2, NULL, b.3) AS bv, toInt64(1 + (p1 > 0) + (p2 > 0)) AS depth, d1, d2
  FROM (
    SELECT person_id, arraySort(groupArray(x)) AS xs, arrayMap(v -> intDiv(v, 16), xs) AS ts, arrayMap(v -> v % 16, xs) AS cs, arrayFill(z -> z > -4611686018427387904, arrayMap((c, t) -> if(c = 2, t, -4611686018427387904), cs, ts)) AS g0, g0 AS lt0, arrayMap((c, g, t) -> c = 1 AND g >= t - 3600000000, cs, g0, ts) AS v1, arrayFirstIndex(v -> v, v1) AS p1, if(p1 > 0, ts[p1] - lt0[p1], NULL) AS d1, arrayFill(z -> z > -4611686018427387904, arrayMap((v, g) -> if(v, g, -4611686018427387904), v1, g0)) AS g1, arrayFill(z -> z > -4611686018427387904, arrayMap((v, t) -> if(v, t, -4611686018427387904), v1, ts)) AS lt1, arrayMap((c, g, t) -> c = 0 AND g >= t - 3600000000, cs, g1, ts) AS v2, arrayFirstIndex(v -> v, v2) AS p2, if(p2 > 0, ts[p2] - lt1[p2], NULL) AS d2, minIf(tuple(x, isNull(bv), ifNull(bv, '')), code = 2) AS b
    FROM (
      SELECT person_id, t * 16 + code AS x, code, bv
      FROM (
        SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, toUnixTimestamp64Micro(e.timestamp) AS t, ((e.event IN ('view_item')) AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC')) AS m0, ((e.event IN ('add_to_cart'))) AS m1, ((e.event IN ('pay'))) AS m2, multiIf(NOT JSONHas(e.properties, 'channel'), NULL, JSONType(e.properties, 'channel') = 'String', JSONExtractString(e.properties, 'channel'), JSONType(e.properties, 'channel') = 'Null', NULL, JSONExtractRaw(e.properties, 'channel')) AS bv
        FROM events AS e
        JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
        WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-10 16:00:00.000000', 6, 'UTC') AND e.event IN ('view_item', 'add_to_cart', 'pay') AND e.timestamp < toDateTime64('2026-11-08 17:00:00.000000', 6, 'UTC')
      )
      ARRAY JOIN arrayFilter(c -> c >= 0, [if(m0, 2, -1), if(m1, 1, -1), if(m2, 0, -1)]) AS code
    )
    GROUP BY person_id
    HAVING countIf(code = 2) > 0
  )
) AS pp
GROUP BY bv_out;
