-- Take up to p_max_jobs jobs for worker p_worker_id, as mukti_fetch_job_v3 takes them (same
-- arguments, same jobs, same kept plan: v3 is called), and start the answer of each
-- question among them in the same statement: `started` is the row of
-- mukti_start_attempt_v1 for that job's request (the request 'processing', attempts + 1,
-- its whole context; live viewers told at commit), as JSON; NULL for a job of another
-- task, or when the start found no request to take.
--
-- v4: the start was the first statement of the answering task (jobs/answering.py), a
-- transaction and a round trip of its own for every question, between the fetch that took
-- its job and the LLM call: on the benchmark's 2 cores a round trip costs ~85 us of CPU
-- (53 in the client, 31 in Postgres) before any work, and the task's path to it (pool,
-- scope) as much again. Now the worker's fetch, a round trip it makes anyway and shares
-- between several jobs, carries the starts (docs/performance.md "Answers started by the
-- fetch"); the task takes the row the fetch left it (jobs/fetch.py).
--
-- Each start is mukti_start_attempt_v1 itself, scoped to the job's owner as that call
-- scopes itself (Row-Level Security as for the task: the worker logs in as, or sets its
-- role to, the app role on every connection), and the scope is cleared after it, so the
-- next job's start takes its own owner. A start that raises (a request row locked past
-- the session's lock_timeout, a broken job argument) is undone alone (a subtransaction)
-- and its job comes back with `started` NULL: the task then starts the attempt itself and
-- meets the error there, as before v4, so that one bad request fails its own job and never
-- the worker's fetch. For the same reason a start waits at most 200 ms for its request's
-- row (a cancel or a deletion holding it): the fetch holds the jobs it took and the
-- worker's next jobs wait for it, while the task can wait alone.
--
-- Locks: the starts count the requests that leave 'pending' (mukti_count_pending_v2) in
-- this backend's batch slot (64-127), taken before the first start and after the jobs
-- (which are locked SKIP LOCKED, never waited for), as reply and accept batches take it
-- before any user's rows: a single call never counts in a batch's slot, so nothing that
-- holds a request this fetch starts can wait for the slot it holds.
--
-- Scope: the transaction must not be scoped on entry (each start takes its owner's).
CREATE FUNCTION mukti_fetch_job_v4(
    target_queue_names character varying[],
    p_worker_id bigint,
    p_min_priority integer,
    p_max_jobs integer
)
    RETURNS TABLE (
        id bigint,
        status procrastinate_job_status,
        task_name character varying,
        priority integer,
        lock text,
        queueing_lock text,
        args jsonb,
        scheduled_at timestamptz,
        queue_name character varying,
        attempts integer,
        worker_id bigint,
        started jsonb
    )
    LANGUAGE plpgsql
AS $$
DECLARE
    v_job          procrastinate_jobs%ROWTYPE;
    v_slot         integer;
    v_lock_timeout text := current_setting('lock_timeout');
BEGIN
    IF nullif(current_setting('mukti.user_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'a fetch starts answers for several users, each in its own scope: the transaction must '
                        'not be scoped' USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR v_job IN
        SELECT * FROM mukti_fetch_job_v3(target_queue_names, p_worker_id, p_min_priority, p_max_jobs)
    LOOP
        id := v_job.id;
        status := v_job.status;
        task_name := v_job.task_name;
        priority := v_job.priority;
        lock := v_job.lock;
        queueing_lock := v_job.queueing_lock;
        args := v_job.args;
        scheduled_at := v_job.scheduled_at;
        queue_name := v_job.queue_name;
        attempts := v_job.attempts;
        worker_id := v_job.worker_id;
        started := NULL;
        IF v_job.task_name = 'answer_question' AND jsonb_typeof(v_job.args -> 'request_id') = 'string'
           AND jsonb_typeof(v_job.args -> 'user_id') = 'string' THEN
            IF v_slot IS NULL THEN
                v_slot := 64 + pg_backend_pid() % 64;
                PERFORM pg_advisory_xact_lock(hashtext('mukti.pending_slot'), v_slot);
                PERFORM set_config('mukti.pending_slot', v_slot::text, true);
                PERFORM set_config('lock_timeout', '200ms', true);
            END IF;
            BEGIN
                SELECT to_jsonb(s) INTO started
                  FROM mukti_start_attempt_v1((v_job.args ->> 'request_id')::uuid, (v_job.args ->> 'user_id')::uuid) s;
            EXCEPTION WHEN OTHERS THEN
                started := NULL;
            END;
            PERFORM set_config('mukti.user_id', '', true);
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_slot IS NOT NULL THEN
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
        PERFORM set_config('mukti.pending_slot', '', true);
    END IF;
END;
$$;
