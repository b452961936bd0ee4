-- analytics.model_costs_v1: per UTC day and model, events by type, tokens, cost, the
-- effective price per 1,000 tokens and the mean latency. From the incremental rollup.
CREATE VIEW analytics.model_costs_v1 AS
SELECT (h.hour AT TIME ZONE 'UTC')::date AS day,
       nullif(h.model, '') AS model,
       sum(h.events)::bigint AS events,
       coalesce(sum(h.events) FILTER (WHERE h.event_type = 'question'), 0)::bigint AS questions,
       coalesce(sum(h.events) FILTER (WHERE h.event_type = 'answer'), 0)::bigint AS answers,
       coalesce(sum(h.events) FILTER (WHERE h.event_type = 'failure'), 0)::bigint AS failures,
       coalesce(sum(h.events) FILTER (WHERE h.event_type = 'limit_reached'), 0)::bigint AS limits_reached,
       sum(h.prompt_tokens)::bigint AS prompt_tokens,
       sum(h.completion_tokens)::bigint AS completion_tokens,
       sum(h.cost) AS cost,
       round(sum(h.cost) * 1000 / nullif(sum(h.prompt_tokens + h.completion_tokens), 0), 6) AS cost_per_1k_tokens,
       round(sum(h.total_latency_ms)::numeric / nullif(sum(h.latency_samples), 0)) AS avg_latency_ms
  FROM analytics.usage_hourly h
 GROUP BY 1, 2;
