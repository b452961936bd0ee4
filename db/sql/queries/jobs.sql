-- Worker wake-ups (core/database/wake.py).

-- jobs_wake_workers --
-- Wakes idle workers listening on any queue or on `questions` (Procrastinate's channels
-- and payload, without a job id: a woken worker fetches whatever is due).
SELECT pg_notify('procrastinate_any_queue_v1', '{"type": "job_inserted"}'),
       pg_notify('procrastinate_queue_v1#questions', '{"type": "job_inserted"}')
