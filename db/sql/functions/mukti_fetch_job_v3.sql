-- Take up to p_max_jobs jobs of one priority for worker p_worker_id among those of
-- priority p_min_priority or higher (all when NULL), in one statement: every fetch of a
-- `mukti worker` (jobs/fetch.py). The jobs are the first of those p_max_jobs calls of
-- mukti_fetch_job_v2 in a row would take at the same instant (open jobs of the given
-- queues, all when NULL, whose time has come, by priority then id, none whose lock has a
-- job running or one before it in that order, so at most one job of a lock, the first,
-- skipping rows another worker is taking), as long as they have the first one's
-- priority; each is marked 'doing' for this worker. They come back in no set order.
--
-- One priority: a batch padded with lower-priority jobs (title jobs behind questions, a
-- free plan's behind a paid one's) would have the worker spend on them what the next
-- higher-priority job needs, and it would wait for them (in bench/answer.py, pickup p50
-- 7 ms -> 25 ms under load).
--
-- v3: several jobs a call. A worker's fetch loop is serial, one fetch a turn (jobs/fetch.py),
-- and with v2 every job it took cost a turn: the statement, a round trip and the loop's
-- own work (~2 ms a turn on 2 cores, of which the statement ~0.3 ms), which bounded a
-- worker at ~500 jobs/s while its slots stood mostly free. A worker asks for as many as
-- its free ordinary slots hold (at most MUKTI_WORKER_FETCH_BATCH), and the turns that
-- follow start them without a query (docs/performance.md "Fetches in batches").
-- The candidates are locked before the priority filter: for the statement's few
-- milliseconds other workers skip the lower-priority ones too, and take the jobs after.
-- The plan is v2's, kept by the session (see mukti_fetch_job_v2.sql for why each setting):
-- the candidates come from the (priority, id) index of open jobs, each with its own lock
-- check, and the rows to update are looked up by id (an array of the candidates' ids, not
-- a join).
CREATE FUNCTION mukti_fetch_job_v3(
    target_queue_names character varying[],
    p_worker_id bigint,
    p_min_priority integer,
    p_max_jobs integer
)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_sort = off
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF p_max_jobs IS NULL OR p_max_jobs < 1 THEN
        RAISE EXCEPTION 'a fetch takes at least one job (p_max_jobs %)', p_max_jobs
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH candidate AS (
        SELECT jobs.id, jobs.priority
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
         LIMIT p_max_jobs
           FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs
       SET status = 'doing', worker_id = p_worker_id
     WHERE procrastinate_jobs.id = ANY (ARRAY(SELECT candidate.id FROM candidate
                                               WHERE candidate.priority = (SELECT max(first.priority)
                                                                             FROM candidate AS first)))
    RETURNING procrastinate_jobs.*;
END;
$$;
