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
-- scopes itself, and the scope is cleared after it, so the next job's start takes its own
-- owner. The start relies on Row-Level Security to refuse a job naming another user's
-- request, as the task's did: the worker logs in as, or sets its role to, the app role on
-- every connection (jobs/app.py). Where the policies do not bind the session (an owner's
-- or a superuser's: behind a transaction-mode pooler MUKTI_DB_ROLE stays unset; the
-- benchmarks) or admit every row (the service role), the fetch checks the owner itself
-- first (one look-up by key) and starts nothing for a job naming another user's request.
--
-- A start that raises (a request row locked past 200 ms, a broken job argument) is undone
-- alone (a subtransaction), said in the server's log (a WARNING), and its job comes back
-- with `started` NULL: the task then starts the attempt itself and meets the error there,
-- as before v4, so that one bad request fails its own job and never the worker's fetch.
-- The 200 ms bound a start's wait for its request's row (a cancel or a deletion holding
-- it): the fetch holds the jobs it took and the worker's next jobs wait for it, while the
-- task can wait alone. At most 64 starts a fetch (each writing subtransaction takes a
-- subtransaction id, and a transaction with more than 64 makes every snapshot taken while
-- it runs look them up); the jobs after them are their tasks' to start.
--
-- Locks: the starts count the requests that leave 'pending' (mukti_count_pending_v2) in
-- this backend's batch slot (64-127), as reply and accept batches do, so that a single
-- call (counting in 0-63) that holds a request this fetch starts never waits for the slot
-- this fetch holds. The slot is tried, not waited for: held by a reply or accept batch
-- (pid % 64 shared), the fetch starts nothing and its tasks start their attempts.
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
    v_may_start    boolean := true;
    -- Whether the owner must be checked here: the policies would not refuse another user's request.
    v_check_owner  boolean := NOT row_security_active('request_queue') OR current_user = 'mukti_service';
    v_starts       integer := 0;
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
        IF v_may_start AND v_starts < 64 AND v_job.task_name = 'answer_question'
           AND jsonb_typeof(v_job.args -> 'request_id') = 'string' AND jsonb_typeof(v_job.args -> 'user_id') = 'string' THEN
            IF v_slot IS NULL THEN
                v_slot := 64 + pg_backend_pid() % 64;
                v_may_start := pg_try_advisory_xact_lock(hashtext('mukti.pending_slot'), v_slot);
                IF v_may_start THEN
                    PERFORM set_config('mukti.pending_slot', v_slot::text, true);
                    PERFORM set_config('lock_timeout', '200ms', true);
                END IF;
            END IF;
            IF v_may_start THEN
                v_starts := v_starts + 1;
                BEGIN
                    IF NOT v_check_owner OR EXISTS (
                           SELECT FROM request_queue q
                            WHERE q.id = (v_job.args ->> 'request_id')::uuid
                              AND q.user_id = (v_job.args ->> 'user_id')::uuid) THEN
                        SELECT to_jsonb(s) INTO started
                          FROM mukti_start_attempt_v1((v_job.args ->> 'request_id')::uuid,
                                                      (v_job.args ->> 'user_id')::uuid) s;
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    RAISE WARNING 'mukti_fetch_job_v4: job % not started (its task starts it): %: %',
                                  v_job.id, SQLSTATE, SQLERRM;
                    started := NULL;
                END;
                PERFORM set_config('mukti.user_id', '', true);
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF v_slot IS NOT NULL AND v_may_start THEN
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
        PERFORM set_config('mukti.pending_slot', '', true);
    END IF;
END;
$$;
