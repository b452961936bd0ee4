-- Take the next job for worker p_worker_id among those of priority p_min_priority or
-- higher (all when NULL): a worker calls it for its reserved slots (jobs/reserve.py), so
-- that a backlog of lower-priority jobs never holds every slot a higher-priority question
-- could start in. Otherwise the choice is procrastinate_fetch_job_v2's: open jobs of the
-- given queues (all when NULL) whose time has come, by priority then id, none whose lock
-- has a job running or one before it in that order (the lock check looks at the jobs of
-- every priority, not only those above the minimum), skipping rows another worker is
-- taking; the job taken is marked 'doing' for this worker. No row: no such job.
-- With a minimum the ordered index on (priority, id) of open jobs is read from the top
-- down to that priority only. Planned on each call and without sorts, as 0022 has
-- Procrastinate's fetch (schema/0022_fetch_plans.up.sql): a plan kept from an empty queue
-- reads the whole backlog for every fetch.
CREATE FUNCTION mukti_fetch_job_v1(
    target_queue_names character varying[],
    p_worker_id bigint,
    p_min_priority integer
)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql
    SET enable_sort = off
    SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    -- While its reserved slots wait, a worker fetches on every wake-up (up to hundreds a
    -- second under load), mostly to find no job of that priority: this look-up in the
    -- ordered index answers that case for ~0.2 ms a call, the query below ~0.7 ms (its
    -- planning, pgbench, one client, 1,000 lower-priority jobs queued).
    IF p_min_priority IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs WHERE status = 'todo' AND priority >= p_min_priority
    ) THEN
        RETURN;
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
           AND (p_min_priority IS NULL OR jobs.priority >= p_min_priority)
           AND (target_queue_names IS NULL OR jobs.queue_name = ANY (target_queue_names))
           AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
         ORDER BY jobs.priority DESC, jobs.id ASC
         LIMIT 1
           FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs
       SET status = 'doing', worker_id = p_worker_id
      FROM candidate
     WHERE procrastinate_jobs.id = candidate.id
    RETURNING procrastinate_jobs.*;
END;
$$;
