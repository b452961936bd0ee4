-- Queries of the worker process itself, run through Procrastinate's connector (jobs/connector.py).

-- worker_heartbeat --
-- The heartbeat, and whether this worker's row still exists (no row returned: another
-- worker's sweeper deleted it as stalled).
UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = :worker_id RETURNING id;

-- worker_fetch_jobs --
-- Up to :limit jobs for this worker, one per free slot (mukti_fetch_jobs_v1), with the
-- columns of Procrastinate's own fetch (procrastinate.jobs.Job.from_row).
SELECT id, status, task_name, priority, lock, queueing_lock, args, scheduled_at, queue_name, attempts, worker_id
  FROM mukti_fetch_jobs_v1(:queues::varchar[], :worker_id::bigint, :limit::integer);
