-- Take up to p_limit jobs for worker p_worker_id in one statement: the worker asks for as
-- many as it has free slots (jobs/worker.py), where Procrastinate's own loop calls
-- procrastinate_fetch_job_v2 once per slot, one round trip, one plan and one commit each.
-- The choice is procrastinate_fetch_job_v2's, row for row: open jobs of the given queues
-- (all when NULL) whose time has come, by priority then id, none whose lock has a job
-- running or one before it in that order (two queued jobs of one conversation: only the
-- first is taken; it holds the lock until it ends), skipping rows another worker is
-- taking; each taken job is marked 'doing' for this worker. Rows come back in no
-- particular order. Planned on each call and without sorts, as 0022 has Procrastinate's
-- fetch (schema/0022_fetch_plans.up.sql): a plan kept from an empty queue reads the whole
-- backlog for every fetch.
CREATE FUNCTION mukti_fetch_jobs_v1(
    target_queue_names character varying[],
    p_worker_id bigint,
    p_limit integer
)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql
    SET enable_sort = off
    SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE 'p_limit must be at least 1 (got %)', p_limit;
    END IF;
    RETURN QUERY
    WITH candidate AS (
        SELECT jobs.id
          FROM procrastinate_jobs AS jobs
         WHERE NOT EXISTS (
                   SELECT 1
                     FROM procrastinate_jobs AS other_jobs
                    WHERE jobs.lock IS NOT NULL
                      AND other_jobs.lock = jobs.lock
                      AND (other_jobs.status = 'doing'
                           OR (other_jobs.status = 'todo'
                               AND (other_jobs.priority > jobs.priority
                                    OR (other_jobs.priority = jobs.priority AND other_jobs.id < jobs.id))))
               )
           AND jobs.status = 'todo'
           AND (target_queue_names IS NULL OR jobs.queue_name = ANY (target_queue_names))
           AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
         ORDER BY jobs.priority DESC, jobs.id ASC
         LIMIT p_limit
           FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs
       SET status = 'doing', worker_id = p_worker_id
      FROM candidate
     WHERE procrastinate_jobs.id = candidate.id
    RETURNING procrastinate_jobs.*;
END;
$$;
