SELECT CAST(person_id AS VARCHAR) AS pid, recency_days, frequency, micros, r_score, f_score, m_score, seg, CAST(seg_users AS BIGINT), n, r_sum, f_sum, m_sum, CAST(CASE WHEN rn > 0 AND rn <= 100 THEN 1 ELSE 0 END AS BIGINT) AS in_page, CAST(rn AS BIGINT)
FROM (
  SELECT *, row_number() OVER (ORDER BY micros DESC, frequency DESC, recency_days ASC, person_id ASC) AS rn, count(*) OVER (PARTITION BY seg) AS seg_users, row_number() OVER (PARTITION BY seg) AS seg_rn
  FROM (
    SELECT person_id, recency_days, frequency, micros, r_score, f_score, m_score, n, r_sum, f_sum, m_sum, CAST(CASE WHEN (r_score * n > r_sum) AND (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 0 WHEN (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 1 WHEN NOT (r_score * n > r_sum) AND (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 2 WHEN NOT (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND (m_score * n > m_sum) THEN 3 WHEN (r_score * n > r_sum) AND (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 4 WHEN (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 5 WHEN NOT (r_score * n > r_sum) AND (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 6 WHEN NOT (r_score * n > r_sum) AND NOT (f_score * n > f_sum) AND NOT (m_score * n > m_sum) THEN 7 END AS BIGINT) AS seg
    FROM (
      SELECT *, CAST(count(*) OVER () AS BIGINT) AS n, CAST(sum(r_score) OVER () AS BIGINT) AS r_sum, CAST(sum(f_score) OVER () AS BIGINT) AS f_sum, CAST(sum(m_score) OVER () AS BIGINT) AS m_sum
      FROM (
        SELECT person_id, recency_days, frequency, micros, CAST(1 + floor(CAST(5 AS DOUBLE) * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ()) AS BIGINT) AS r_score, CAST(1 + floor(CAST(5 AS DOUBLE) * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ()) AS BIGINT) AS f_score, CAST(1 + floor(CAST(5 AS DOUBLE) * (rank() OVER (ORDER BY micros) - 1) / count(*) OVER ()) AS BIGINT) AS m_score
        FROM (
          SELECT person_id, CAST(date_diff('day', max(day), CAST('2026-11-15' AS DATE)) AS BIGINT) AS recency_days, CAST(count(*) AS BIGINT) AS frequency, CAST(sum(coalesce(micro, 0)) AS BIGINT) AS micros
          FROM (
            SELECT m.person_id AS person_id, e.timestamp AS ts, e.event AS event, (DATE '1970-01-01' + CAST(((epoch_us(e.timestamp) + 28800000000) // 86400000000) AS INTEGER)) AS day, CAST(floor((CASE WHEN json_type(e.properties, '$."amount"') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(json_extract_string(e.properties, '$."amount"') AS DOUBLE) END) * 1000000 + 0.5) AS BIGINT) AS micro
            FROM events AS e
            JOIN person_distinct_ids AS m ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id
            WHERE e.workspace_id = 1 AND m.workspace_id = 1 AND e.timestamp >= TIMESTAMPTZ '2025-11-15T16:00:00+00:00' AND e.timestamp < TIMESTAMPTZ '2026-11-15T16:00:00+00:00' AND e.event IN ('pay')
          ) AS src
          GROUP BY person_id
        ) AS measured
      ) AS scored
    ) AS totals
  ) AS scored_all
) AS ranked
WHERE (rn > 0 AND rn <= 100) OR seg_rn = 1
ORDER BY in_page DESC, rn;

SELECT CAST(person_id AS VARCHAR) AS pid, distinct_id
FROM person_distinct_ids
WHERE workspace_id = 1 AND person_id IN (CAST('6cc2a2ef-df18-50e7-a123-af93fd864ded' AS UUID), CAST('a2462e06-cba2-5b7e-a4bc-2106ef0696c9' AS UUID));
