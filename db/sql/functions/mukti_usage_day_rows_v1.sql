-- mukti_usage_day_rows_v1(from_day, to_day)
-- Usage per UTC day, plan, model and technique over the raw events of the days
-- [from_day, to_day): the rows of analytics.daily_usage_v2, computed once per finished
-- day into analytics.daily_usage_closed (mukti_close_usage_days_v1) and live for the
-- days not closed yet. One definition for both, so they cannot disagree.
-- '' stands for "none" in plan_id and model (a unique key needs values).
CREATE FUNCTION mukti_usage_day_rows_v1(p_from date, p_to date)
RETURNS TABLE (
    day date, plan_id text, model text, technique_id uuid,
    answered bigint, failed_attempts bigint, failed bigint, cancelled bigint, limits_reached bigint,
    users bigint, prompt_tokens bigint, completion_tokens bigint, cost numeric,
    latency_p50_ms double precision, latency_p90_ms double precision, latency_p99_ms double precision
)
LANGUAGE sql
STABLE
AS $$
    SELECT (d.bucket AT TIME ZONE 'UTC')::date, d.plan_id, d.model, d.technique_id,
           d.answered, d.failed_attempts, d.failed, d.cancelled, d.limits_reached, d.users,
           d.prompt_tokens, d.completion_tokens, d.cost, d.latency[1], d.latency[2], d.latency[3]
      FROM (SELECT date_bin('1 day', e.occurred_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
                   coalesce(e.plan_id, '') AS plan_id, coalesce(e.model, '') AS model, e.technique_id,
                   count(*) FILTER (WHERE e.event_type = 'question') AS answered,
                   count(*) FILTER (WHERE e.event_type IN ('attempt_failed', 'failure')) AS failed_attempts,
                   count(*) FILTER (WHERE e.event_type = 'failure') AS failed,
                   count(*) FILTER (WHERE e.event_type = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE e.event_type = 'limit_reached') AS limits_reached,
                   count(DISTINCT e.user_id) AS users,
                   sum(e.prompt_tokens) AS prompt_tokens,
                   sum(e.completion_tokens) AS completion_tokens,
                   sum(e.cost) AS cost,
                   -- One sort for the three percentiles.
                   percentile_cont(ARRAY[0.50, 0.90, 0.99]) WITHIN GROUP (ORDER BY e.latency_ms)
                       FILTER (WHERE e.event_type = 'question') AS latency
              FROM public.usage_events e
             WHERE e.occurred_at >= p_from::timestamp AT TIME ZONE 'UTC'
               AND e.occurred_at < p_to::timestamp AT TIME ZONE 'UTC'
             GROUP BY 1, 2, 3, 4) d
$$;
