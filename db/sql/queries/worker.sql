-- Queries of the worker process itself, run through Procrastinate's connector (jobs/connector.py).

-- worker_heartbeat --
-- The heartbeat, and whether this worker's row still exists (no row returned: another
-- worker's sweeper deleted it as stalled).
UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = :worker_id RETURNING id;

-- worker_fetch_jobs --
-- The next jobs for this worker, at most :max_jobs, of priority :min_priority or higher
-- (all when NULL), with the columns of Procrastinate's own fetch
-- (procrastinate.jobs.Job.from_row), through mukti_fetch_job_v4 (a plan the session
-- keeps), and `started`: the start row of a question's answer the fetch started (JSON,
-- the columns of answering_start_attempt), NULL for any other job; in no set order; no
-- row: none is ready.
SELECT id, status, task_name, priority, lock, queueing_lock, args, scheduled_at, queue_name, attempts, worker_id,
       started
  FROM mukti_fetch_job_v4(:queues::varchar[], :worker_id::bigint, :min_priority::integer, :max_jobs::integer);

-- worker_release_jobs --
-- Jobs this worker fetched and did not start, given up (it stops), each in one statement
-- with the others: back to 'todo' for any worker, attempts unchanged (Procrastinate's
-- status trigger logs it as 'deferred_for_retry'); 'aborted' when an abort was asked
-- meanwhile (a 'todo' job may not carry one); 'cancelled' when a job of the same
-- queueing lock was queued meanwhile (only one may wait: that one runs instead). A job
-- no longer this worker's (the sweeper took it for stalled) is left alone. Other workers
-- find them at their next poll (no NOTIFY).
UPDATE procrastinate_jobs AS j
   SET status = CASE
                    WHEN j.abort_requested THEN 'aborted'
                    WHEN j.queueing_lock IS NOT NULL
                         AND EXISTS (SELECT FROM procrastinate_jobs AS w
                                      WHERE w.queueing_lock = j.queueing_lock AND w.status = 'todo') THEN 'cancelled'
                    ELSE 'todo'
                END::procrastinate_job_status,
       abort_requested = false, worker_id = NULL
 WHERE j.id = ANY (:job_ids::bigint[]) AND j.status = 'doing' AND j.worker_id = :worker_id::bigint
RETURNING j.id, j.status::text AS status;

-- worker_reserve_facts --
-- What a worker's fetch depends on: the highest and the lowest priority of the plans (it
-- reserves slots for the highest when MUKTI_WORKER_RESERVED_PRIORITY is not set, and none
-- when every plan has the same), and whether migration 0031's fetch exists.
SELECT max(priority) AS highest, min(priority) AS lowest,
       to_regprocedure('mukti_fetch_job_v4(character varying[], bigint, integer, integer)') IS NOT NULL AS fetch_ready
  FROM plans;

-- worker_job_exists --
-- Whether a job's row is still there: a stored reply deletes its job in its own
-- transaction (mukti_complete_stream_v4), which may have committed unacknowledged.
SELECT EXISTS (SELECT FROM procrastinate_jobs WHERE id = :job_id) AS present
