-- Queries of the usage feature (GET /me/usage, GET /admin/reports/monthly) and of the
-- periodic maintenance tasks of jobs/maintenance.py.

-- usage_daily_series --
-- A chart-ready series of the user's usage from the durable daily aggregate: one row per
-- day from :day_from to :day_to (inclusive) and per key, zeros where nothing happened.
-- :group_by is NULL, 'model' or 'technique'; each key that has usage in the range gets
-- every day.
WITH days AS (
    SELECT d::date AS day FROM generate_series(:day_from::date, :day_to::date, interval '1 day') AS d
), agg AS (
    SELECT day,
           CASE :group_by::text WHEN 'model' THEN nullif(model, '') WHEN 'technique' THEN technique_id::text END AS key,
           sum(questions)::bigint AS questions,
           sum(prompt_tokens)::bigint AS prompt_tokens,
           sum(completion_tokens)::bigint AS completion_tokens,
           sum(cost) AS cost
      FROM daily_usage_aggregates
     WHERE user_id = :user_id AND day BETWEEN :day_from AND :day_to
     GROUP BY 1, 2
), keys AS (
    SELECT DISTINCT key FROM agg
    UNION ALL
    SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM agg)
)
SELECT days.day, keys.key,
       coalesce(agg.questions, 0) AS questions,
       coalesce(agg.prompt_tokens, 0) AS prompt_tokens,
       coalesce(agg.completion_tokens, 0) AS completion_tokens,
       coalesce(agg.cost, 0) AS cost
  FROM days CROSS JOIN keys
  LEFT JOIN agg ON agg.day = days.day AND agg.key IS NOT DISTINCT FROM keys.key
 ORDER BY days.day, keys.key NULLS FIRST;

-- usage_today --
-- "Tokens used today", exact and current: the aggregate moves in the same transaction
-- as each usage event. One index range scan on daily_usage_aggregates_key.
SELECT (now() AT TIME ZONE 'UTC')::date AS day,
       coalesce(sum(questions), 0)::bigint AS questions,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(cost), 0) AS cost
  FROM daily_usage_aggregates
 WHERE user_id = :user_id AND day = (now() AT TIME ZONE 'UTC')::date;

-- usage_monthly_report --
-- Usage per user in the month starting on :month, from the durable aggregate (correct
-- after the raw events expired); keyset pages by user_id after :after_user_id, :limit rows.
SELECT user_id::text,
       sum(questions)::bigint AS questions,
       sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(cost) AS cost
  FROM daily_usage_aggregates
 WHERE day >= :month::date AND day < (:month::date + interval '1 month')
   AND (:after_user_id::uuid IS NULL OR user_id > :after_user_id::uuid)
 GROUP BY user_id
 ORDER BY user_id
 LIMIT :limit;

-- maintenance_ensure_partitions --
-- Partitions of :table from :back units back to :ahead units ahead.
SELECT mukti_ensure_partitions_v1(:table::regclass, :unit,
                                  now() - :back * ('1 ' || :unit)::interval,
                                  :back + :ahead + 1) AS created;

-- maintenance_drop_expired_partitions --
SELECT dropped FROM mukti_drop_expired_partitions_v1(:table::regclass, :keep::interval) AS dropped;

-- maintenance_purge_rate_limits --
SELECT mukti_purge_rate_limits_v1(:batch) AS deleted;

-- maintenance_rollup_usage --
SELECT mukti_rollup_usage_v1() AS events;

-- maintenance_close_usage_days --
-- Up to :days finished days of analytics.daily_usage_v2 closed (one transaction).
SELECT mukti_close_usage_days_v1(:days) AS closed;

-- maintenance_refresh_matviews --
SELECT mukti_refresh_matviews_v2() AS refreshed;

-- maintenance_default_partition_periods --
-- The periods of the rows in a default partition (normally none).
SELECT table_name, unit, start_at FROM mukti_default_partition_periods_v1();

-- maintenance_adopt_default_rows --
-- The partition of one period, made now: the rows of that period move into it from the
-- default partition (mukti_ensure_partitions_v1), in one transaction.
SELECT mukti_ensure_partitions_v1(:table_name::regclass, :unit, :start_at, 1) AS created;

-- maintenance_purge_expired --
-- One batch of rows of :table older than their lifetime; see mukti_purge_expired_v1.
SELECT mukti_purge_expired_v1(:table, :keep::interval, :batch) AS deleted;

-- maintenance_protect_user_tables --
-- Row-Level Security on partitions created since (mukti_protect_user_tables_v1).
SELECT mukti_protect_user_tables_v1() AS protected;
