-- answering_start_attempt --
-- Take :user_id's request for one LLM attempt and load its whole context (see the
-- function), in one round trip: the function scopes itself (core/database/scope.py
-- SELF_SCOPED). No row: the request is finished (or gone).
-- Its commit does not wait for the WAL flush (set_config(..., true) lasts until the
-- commit): the function's NOTIFY holds Postgres's cluster-wide notify lock until its
-- commit ends, so with the flush every worker's start queued behind the others'. Nothing
-- acknowledged depends on it: should the database crash before the flush, the request is
-- back as it was before this attempt (attempts one lower; a reader may have seen it
-- 'processing' meanwhile), and its job, also fetched without a flush (jobs/app.py), is
-- 'todo' again or still held by its worker, as after any crash. Every durable commit
-- that follows (the reply, a failure, a cancel) flushes this one with it.
/* scopes itself */ SELECT request_id, user_id, attempts, max_attempts, model, message_seq, cancel_requested,
       technique_name, system_prompt, questioning_style, display_name, preferences, messages
  FROM mukti_start_attempt_v1(:request_id::uuid, :user_id::uuid),
       set_config('synchronous_commit', 'off', true) AS commit_without_flush

-- answering_complete_streams --
-- Streamed replies of any users (stopped: cut short by a cancel; usage_estimated: the
-- provider sent no usage), each with the Procrastinate job that answered it finished, in
-- one transaction and one round trip (jobs/replies.py): each item is one call of
-- mukti_complete_stream_v4, scoped to its own user; the rows carry `item`, the 1-based
-- place of the reply in the arrays, and `outcome` 'held' for a reply left unwritten
-- because its rows were locked elsewhere (see the function).
-- Sent unscoped (Db without for_user): the function refuses a scoped transaction.
SELECT item, outcome, reply_seq, cost, limit_reached
  FROM mukti_complete_streams_v1(:request_ids::uuid[], :contents::text[], :prompt_tokens::integer[],
                                 :completion_tokens::integer[], :latency_ms::integer[], :first_token_ms::integer[],
                                 :usage_estimated::boolean[], :stopped::boolean[], :user_ids::uuid[],
                                 :job_ids::bigint[])

-- answering_cancel_processing --
-- A cancel reached a request before any text was generated: cancelled, no reply (the
-- quota slot stays used: the LLM was called); live viewers are told.
WITH cancelled AS (
    UPDATE request_queue SET status = 'cancelled', completed_at = clock_timestamp(), next_attempt_at = NULL
     WHERE id = :request_id AND status = 'processing'
    RETURNING id
), chunks AS (
    DELETE FROM request_stream_chunks s USING cancelled c WHERE s.request_id = c.id
)
SELECT pg_notify('mukti_stream', json_build_array(json_build_array(c.id, 's'))::text) FROM cancelled c

-- answering_cancel_requested --
-- Of the requests this worker is streaming, those whose user asked to cancel.
SELECT id::text FROM request_queue WHERE id = ANY(:request_ids::uuid[]) AND cancel_requested_at IS NOT NULL

-- answering_notify_state --
-- Tell live viewers that a request changed state (a retry waits, or it failed for good).
SELECT pg_notify('mukti_stream', json_build_array(json_build_array(:request_id::uuid, 's'))::text)

-- answering_stream_append --
SELECT mukti_stream_append_v1(:request_ids::uuid[], :attempts::integer[], :offsets::integer[], :user_ids::uuid[],
                              :contents::text[], :payloads::text[])

-- answering_fail_attempt --
SELECT outcome, attempts, next_attempt_at FROM mukti_fail_attempt_v1(:request_id, :error, :retry_in_seconds)

-- answering_unstart_requests --
-- Requests whose answers worker :worker_id's fetch started (mukti_fetch_job_v4), at the
-- attempt numbers :attempts, and whose jobs it gives back unstarted as it stops
-- (jobs/starts.py): 'pending' again, the attempt they never made not counted; live viewers
-- are told (one NOTIFY). Sent before the jobs go back to the queue (worker_release_jobs),
-- and only while the request's job is still this worker's and the attempt still the one
-- its fetch started: once a job is 'todo' again another worker may take and start it.
-- Several users' requests: run as the service.
WITH released AS (
    UPDATE request_queue q
       SET status = 'pending', attempts = q.attempts - 1, next_attempt_at = clock_timestamp()
      FROM unnest(:request_ids::uuid[], :attempts::integer[]) AS s(id, attempts)
     WHERE q.id = s.id AND q.attempts = s.attempts AND q.status = 'processing'
       AND EXISTS (SELECT FROM procrastinate_jobs j
                    WHERE j.id = q.job_id AND j.status = 'doing' AND j.worker_id = :worker_id::bigint)
    RETURNING q.id
), told AS (
    SELECT count(*)::integer AS released, pg_notify('mukti_stream', json_agg(json_build_array(id, 's'))::text) AS sent
      FROM released HAVING count(*) > 0
)
SELECT released FROM told

-- answering_release_request --
-- A job interrupted mid-attempt (worker shutdown): the request waits again.
UPDATE request_queue SET status = 'pending', next_attempt_at = clock_timestamp()
 WHERE id = :request_id AND status = 'processing'

-- answering_release_jobs --
-- Requests of jobs taken back from dead workers wait again (the sweeper).
UPDATE request_queue SET status = 'pending', next_attempt_at = clock_timestamp()
 WHERE job_id = ANY(:job_ids::bigint[]) AND status = 'processing'
RETURNING id

-- webhook_delivery_get --
SELECT id, url, payload::text AS payload, status, attempts FROM webhook_deliveries WHERE id = :delivery_id

-- webhook_delivery_record --
-- One delivery attempt: its HTTP status or error, and the resulting delivery status.
UPDATE webhook_deliveries
   SET status = :status, attempts = attempts + 1, last_status_code = :status_code, last_error = :error,
       delivered_at = CASE WHEN :status = 'delivered' THEN clock_timestamp() END
 WHERE id = :delivery_id

-- plan_models --
-- Every model a plan answers with or offers (checked against the LLM endpoint at worker start).
SELECT DISTINCT m.model
  FROM plans p, unnest(array_append(coalesce(p.models, '{}'), p.model)) AS m(model)
 ORDER BY m.model;

-- answering_no_more_attempts --
-- The LLM refused in a way no retry can change (a configuration error): this attempt is
-- the last one (mukti_fail_attempt then fails the request for good, in the same transaction).
UPDATE request_queue SET max_attempts = attempts WHERE id = :request_id AND status IN ('pending', 'processing');

-- job_request_owner --
-- The account a request belongs to: a job names only its request and runs as its
-- owner (Row-Level Security). NULL: the request is gone (its account was erased).
SELECT mukti_job_owner_v1('request', :request_id::uuid)::text

-- job_delivery_owner --
-- The account a webhook delivery belongs to (as job_request_owner).
SELECT mukti_job_owner_v1('delivery', :delivery_id::uuid)::text

-- maintenance_purge_stream_chunks --
SELECT mukti_purge_stream_chunks_v1(:batch) AS deleted
