-- analytics.queue_health_v1: per UTC hour (of queueing) and priority, how many requests
-- came, how they ended, and the wait from queued_at to started_at in percentiles.
-- Live over request_queue (no refresh): filter on hour to keep it cheap.
CREATE VIEW analytics.queue_health_v1 AS
SELECT date_trunc('hour', q.queued_at, 'UTC') AS hour,
       q.priority,
       count(*) AS requests,
       count(q.started_at) AS started,
       count(*) FILTER (WHERE q.status = 'completed') AS completed,
       count(*) FILTER (WHERE q.status = 'failed') AS failed,
       count(*) FILTER (WHERE q.status IN ('pending', 'processing')) AS in_flight,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY extract(epoch FROM q.started_at - q.queued_at)) AS wait_p50_seconds,
       percentile_cont(0.90) WITHIN GROUP (ORDER BY extract(epoch FROM q.started_at - q.queued_at)) AS wait_p90_seconds,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM q.started_at - q.queued_at)) AS wait_p99_seconds,
       max(extract(epoch FROM q.started_at - q.queued_at)) AS wait_max_seconds,
       avg(extract(epoch FROM q.completed_at - q.started_at)) AS avg_service_seconds
  FROM public.request_queue q
 GROUP BY 1, 2;
