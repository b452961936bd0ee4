-- Take the next job for worker p_worker_id among those of priority p_min_priority or
-- higher (all when NULL): every fetch of a `mukti worker` (jobs/fetch.py), its reserved
-- slots' (jobs/reserve.py) and the others. The choice is procrastinate_fetch_job_v2's, as
-- mukti_fetch_job_v1's: open jobs of the given queues (all when NULL) whose time has come,
-- by priority then id, none whose lock has a job running or one before it in that order
-- (the lock check looks at the jobs of every priority, not only those above the minimum),
-- skipping rows another worker is taking; the job taken is marked 'doing' for this
-- worker. No row: no such job.
--
-- v2: the same choice, with a plan a session keeps. v1 and Procrastinate's fetch (as
-- 0022 set it up) are planned on every call, ~0.3-0.7 ms of a fetch's ~1 ms, because a
-- plan kept from an empty queue read the whole backlog for every fetch: with the
-- statistics of an empty table, the planner took full scans (filtered, not looked up by
-- the candidate's lock and id) as the cheapest way to the few rows it expected. Here no
-- step of the plan reads the table's rows whole, whatever the statistics say:
--   * sequential and bitmap scans and sorts are off (the candidates come in the order of
--     the (priority, id) index of open jobs, the minimum priority its bound);
--   * the lock check is a subquery run for each candidate with its lock (OFFSET 0 keeps
--     the planner from turning it into a join, which it could make a full scan);
--   * the row to update is looked up by the candidate's id (a scalar subquery, not a join).
-- The lock check reads the (id, lock) index of open jobs across its width, as it does in
-- Procrastinate's own plans: no index leads with a waiting job's lock (~0.35 ms a fetch
-- with 10,000 jobs queued).
-- tests/integration/test_fetch_plans.py counts the rows a fetch reads after a session
-- planned on an empty queue (a plan kept from the full scans above reads every one).
CREATE FUNCTION mukti_fetch_job_v2(
    target_queue_names character varying[],
    p_worker_id bigint,
    p_min_priority integer
)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_sort = off
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH candidate AS (
        SELECT jobs.id
          FROM procrastinate_jobs AS jobs
         WHERE jobs.status = 'todo'
           AND jobs.priority >= coalesce(p_min_priority, -2147483648)
           AND (target_queue_names IS NULL OR jobs.queue_name = ANY (target_queue_names))
           AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
           AND NOT EXISTS (
                   SELECT 1
                     FROM procrastinate_jobs AS other_jobs
                    WHERE jobs.lock IS NOT NULL
                      AND other_jobs.lock = jobs.lock
                      AND (other_jobs.status = 'doing'
                           OR (other_jobs.status = 'todo'
                               AND (other_jobs.priority > jobs.priority
                                    OR (other_jobs.priority = jobs.priority AND other_jobs.id < jobs.id))))
                   OFFSET 0
               )
         ORDER BY jobs.priority DESC, jobs.id ASC
         LIMIT 1
           FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs
       SET status = 'doing', worker_id = p_worker_id
     WHERE procrastinate_jobs.id = (SELECT candidate.id FROM candidate)
    RETURNING procrastinate_jobs.*;
END;
$$;
