-- analytics.daily_usage_v2: usage per UTC day, plan, model and technique, every outcome
-- of a question counted. Closed days come from analytics.daily_usage_closed (computed
-- once from the raw events, kept after they expire); the days not closed yet (today,
-- and yesterday for 10 minutes) from the raw events, through the same function. So a
-- refresh reads the small closed table and one or two days of events.
-- Created WITH NO DATA; migration 0014a populates it (after closing the past days).
CREATE MATERIALIZED VIEW analytics.daily_usage_v2 AS
WITH days AS (
    SELECT d.day, d.plan_id, d.model, d.technique_id, d.answered, d.failed_attempts, d.failed, d.cancelled,
           d.limits_reached, d.users, d.prompt_tokens, d.completion_tokens, d.cost,
           d.latency_p50_ms, d.latency_p90_ms, d.latency_p99_ms
      FROM analytics.daily_usage_closed d
    UNION ALL
    SELECT o.*
      FROM mukti_usage_day_rows_v1(
               coalesce((SELECT s.closed_through + 1 FROM analytics.rollup_state s WHERE s.rollup = 'daily_usage'),
                        '-infinity'::date),
               'infinity'::date) o
)
SELECT d.day,
       nullif(d.plan_id, '') AS plan_id,
       nullif(d.model, '') AS model,
       d.technique_id,
       t.name AS technique_name,
       d.answered + d.failed + d.cancelled AS questions,
       d.answered,
       d.failed_attempts,
       d.failed,
       d.cancelled,
       d.limits_reached,
       d.users,
       d.prompt_tokens,
       d.completion_tokens,
       d.prompt_tokens + d.completion_tokens AS total_tokens,
       d.cost,
       d.latency_p50_ms,
       d.latency_p90_ms,
       d.latency_p99_ms
  FROM days d
  LEFT JOIN public.techniques t ON t.id = d.technique_id
  WITH NO DATA;
-- The matview is created in this transaction and empty (WITH NO DATA): nothing to block.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX daily_usage_v2_key ON analytics.daily_usage_v2 (day, plan_id, model, technique_id) NULLS NOT DISTINCT;
