SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT bv, formatDateTime(addDays(toDate('1970-01-01'), toInt32(bk)), '%Y-%m-%d') AS bucket, toFloat64(sum(value))
FROM (
  SELECT e.timestamp AS ts, e.event AS event, intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) AS bk, multiIf(NOT JSONHas(e.properties, 'platform'), NULL, JSONType(e.properties, 'platform') = 'String', JSONExtractString(e.properties, 'platform'), JSONType(e.properties, 'platform') = 'Null', NULL, JSONExtractRaw(e.properties, 'platform')) AS bv, if(JSONType(e.properties, 'amount') IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(e.properties, 'amount'), NULL) AS value
  FROM events AS e
  WHERE e.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.event IN ('pay')
) AS s
GROUP BY bv, bk;

SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE formatDateTime(addDays(toDate('1970-01-01'), toInt32(bk)), '%Y-%m-%d') END AS bucket, toFloat64(uniqExact(person_id))
FROM (
  SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) AS bk, multiIf(NOT JSONHas(e.properties, 'platform'), NULL, JSONType(e.properties, 'platform') = 'String', JSONExtractString(e.properties, 'platform'), JSONType(e.properties, 'platform') = 'Null', NULL, JSONExtractRaw(e.properties, 'platform')) AS bv
  FROM events AS e
  JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
  LEFT JOIN persons AS p ON p.workspace_id = m.workspace_id AND p.id = m.person_id
  WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.event IN ('app_open') AND (multiIf(NOT JSONHas(p.properties, 'channel'), NULL, JSONType(p.properties, 'channel') = 'String', JSONExtractString(p.properties, 'channel'), JSONType(p.properties, 'channel') = 'Null', NULL, JSONExtractRaw(p.properties, 'channel')) IS NULL OR multiIf(NOT JSONHas(p.properties, 'channel'), NULL, JSONType(p.properties, 'channel') = 'String', JSONExtractString(p.properties, 'channel'), JSONType(p.properties, 'channel') = 'Null', NULL, JSONExtractRaw(p.properties, 'channel')) <> '百度搜索')
) AS s
GROUP BY GROUPING SETS ((bv, bk), (bv)) SETTINGS group_by_use_nulls = 1;

SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE formatDateTime(addDays(toDate('1970-01-01'), toInt32(bk)), '%Y-%m-%d') END AS bucket, toFloat64(uniqExact(person_id))
FROM (
  SELECT m.person_id AS person_id, g.bk AS bk, g.bv AS bv
  FROM (
    SELECT did, bk, bv
    FROM (
      SELECT e.timestamp AS ts, e.event AS event, e.distinct_id AS did, intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000) AS bk, multiIf(NOT JSONHas(e.properties, 'platform'), NULL, JSONType(e.properties, 'platform') = 'String', JSONExtractString(e.properties, 'platform'), JSONType(e.properties, 'platform') = 'Null', NULL, JSONExtractRaw(e.properties, 'platform')) AS bv
      FROM events AS e
      WHERE e.workspace_id = 1 AND e.timestamp >= toDateTime64('2026-11-01 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-08 16:00:00.000000', 6, 'UTC') AND e.event IN ('pay')
    ) AS ev
    GROUP BY did, bk, bv
  ) AS g
  JOIN (
    SELECT distinct_id, person_id
    FROM person_distinct_ids
    WHERE workspace_id = 1
  ) AS m ON m.distinct_id = g.did
) AS s
GROUP BY GROUPING SETS ((bv, bk), (bv)) SETTINGS group_by_use_nulls = 1;
