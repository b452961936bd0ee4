-- analytics.daily_usage_v1: usage per user, UTC day, model and technique.
-- From the durable daily aggregate, which the completion transaction keeps exact and
-- current and which outlives the 90-day expiry of raw events: no refresh at all.
CREATE VIEW analytics.daily_usage_v1 AS
SELECT a.day,
       a.user_id,
       nullif(a.model, '') AS model,
       a.technique_id,
       t.name AS technique_name,
       a.questions,
       a.prompt_tokens,
       a.completion_tokens,
       a.prompt_tokens + a.completion_tokens AS total_tokens,
       a.cost,
       round(a.total_latency_ms::numeric / nullif(a.questions, 0)) AS avg_latency_ms
  FROM public.daily_usage_aggregates a
  LEFT JOIN public.techniques t ON t.id = a.technique_id;
