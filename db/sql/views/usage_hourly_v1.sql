-- analytics.usage_hourly_v1: usage events per UTC hour, model, technique and event type,
-- from the incremental rollup (analytics.usage_hourly; up to date as of the last
-- mukti_rollup_usage_v1 run, see analytics.rollup_state). Kept after events expire.
CREATE VIEW analytics.usage_hourly_v1 AS
SELECT h.hour,
       nullif(h.model, '') AS model,
       h.technique_id,
       h.event_type,
       h.events,
       h.prompt_tokens,
       h.completion_tokens,
       h.cost,
       round(h.total_latency_ms::numeric / nullif(h.latency_samples, 0)) AS avg_latency_ms
  FROM analytics.usage_hourly h;
