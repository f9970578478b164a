SELECT name
FROM system.columns
WHERE database = currentDatabase() AND table = 'events';

SELECT name
FROM system.tables
WHERE database = currentDatabase();

SELECT workspace_id, key, kind, column_name
FROM materialized_properties;

SELECT toString(person_id) AS pid, recency_days, frequency, micros, r_score, f_score, m_score, seg, toInt64(seg_users), n, r_sum, f_sum, m_sum, toInt64(CASE WHEN rn > 0 AND rn <= 100 THEN 1 ELSE 0 END) AS in_page, toInt64(rn)
FROM (
  SELECT *, row_number() OVER (ORDER BY micros DESC, frequency DESC, recency_days ASC, toString(person_id) ASC) AS rn, count(*) OVER (PARTITION BY seg) AS seg_users, row_number() OVER (PARTITION BY seg) AS seg_rn
  FROM (
    SELECT person_id, recency_days, frequency, micros, r_score, f_score, m_score, n, r_sum, f_sum, m_sum, toInt64(CASE WHEN (r_score * n > r_sum) AND (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 0 WHEN (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 1 WHEN NOT (r_score * n > r_sum) AND (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 2 WHEN NOT (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 3 WHEN (r_score * n > r_sum) AND (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 4 WHEN (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 5 WHEN NOT (r_score * n > r_sum) AND (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 6 WHEN NOT (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 7 END) AS seg
    FROM (
      SELECT *, toInt64(count(*) OVER ()) AS n, toInt64(sum(r_score) OVER ()) AS r_sum, toInt64(sum(f_score) OVER ()) AS f_sum, toInt64(sum(m_score) OVER ()) AS m_sum
      FROM (
        SELECT person_id, recency_days, frequency, micros, toInt64(1 + floor(toFloat64(5) * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ())) AS r_score, toInt64(1 + floor(toFloat64(5) * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ())) AS f_score, toInt64(1 + floor(toFloat64(5) * (rank() OVER (ORDER BY micros) - 1) / count(*) OVER ())) AS m_score
        FROM (
          SELECT person_id, toInt64(dateDiff('day', max(day), CAST('2026-11-15' AS DATE))) AS recency_days, toInt64(count(*)) AS frequency, toInt64(sum(coalesce(micro, 0))) AS micros
          FROM (
            SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, addDays(toDate('1970-01-01'), toInt32(intDiv((toUnixTimestamp64Micro(e.timestamp) + 28800000000), 86400000000))) AS day, toInt64(floor(if(JSONType(e.properties, 'amount') IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(e.properties, 'amount'), NULL) * 1000000 + 0.5)) AS micro
            FROM events AS e
            JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
            WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= toDateTime64('2025-11-15 16:00:00.000000', 6, 'UTC') AND e.timestamp < toDateTime64('2026-11-15 16:00:00.000000', 6, 'UTC') AND e.event IN ('pay')
          ) AS src
          GROUP BY person_id
        ) AS measured
      ) AS scored
    ) AS totals
  ) AS scored_all
) AS ranked
WHERE (rn > 0 AND rn <= 100) OR seg_rn = 1
ORDER BY in_page DESC, rn;

SELECT toString(person_id) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (toUUID('6cc2a2ef-df18-50e7-a123-af93fd864ded'), toUUID('a2462e06-cba2-5b7e-a4bc-2106ef0696c9'));
