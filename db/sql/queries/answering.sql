-- answering_start_attempt --
-- Take a request for one LLM attempt and load its whole context in one statement:
-- the request turns 'processing' (attempts + 1), and the row carries the recent
-- messages up to the question (replies to earlier questions included, later questions
-- not; the question itself even when already archived), the technique's prompt and questioning style at the conversation's version,
-- and the user's name and preferences. No row: the request is finished (or gone).
WITH req AS (
    UPDATE request_queue q
       SET status = 'processing', attempts = q.attempts + 1, started_at = clock_timestamp(),
           next_attempt_at = NULL
     WHERE q.id = :request_id AND q.status IN ('pending', 'processing')
    RETURNING q.id, q.user_id, q.conversation_id, q.message_seq, q.target_seq, q.model, q.attempts, q.max_attempts,
              q.cancel_requested_at
)
SELECT req.id AS request_id, req.user_id::text AS user_id, req.attempts, req.max_attempts, req.model,
       req.message_seq, req.cancel_requested_at IS NOT NULL AS cancel_requested,
       -- Live viewers (api/live) learn that processing started: a state item on mukti_stream.
       pg_notify('mukti_stream', json_build_array(json_build_array(req.id, 's'))::text) AS notified,
       tv.name AS technique_name, tv.system_prompt, tv.questioning_style,
       u.display_name, u.preferences::text AS preferences,
       (SELECT coalesce(json_agg(json_build_object('role', m.role, 'content', m.content) ORDER BY m.seq), '[]')
          FROM (SELECT r.seq, r.role, r.content FROM recent_messages r
                 WHERE r.conversation_id = req.conversation_id
                   AND (r.seq <= req.message_seq OR r.role <> 'user')
                   -- A regenerate asks again: the reply it replaces (and what follows) is not shown.
                   AND (req.target_seq IS NULL OR r.seq < req.target_seq)
                UNION ALL
                -- With more than 50 questions queued in one conversation the question
                -- itself may already be archived: the LLM must still see it.
                SELECT a.seq, a.role, a.content FROM archived_messages a
                 WHERE a.conversation_id = req.conversation_id AND a.seq = req.message_seq
                   AND NOT EXISTS (SELECT 1 FROM recent_messages r2
                                    WHERE r2.conversation_id = req.conversation_id
                                      AND r2.seq = req.message_seq)) m)::text AS messages
  FROM req
  JOIN conversations c ON c.id = req.conversation_id
  JOIN users u ON u.id = req.user_id
  LEFT JOIN techniques t ON t.id = c.technique_id
  LEFT JOIN technique_versions tv
         ON tv.technique_id = t.id AND tv.version = coalesce(c.technique_version, t.approved_version, t.latest_version)

-- answering_complete_stream --
-- A streamed reply of :user_id's request (stopped: cut short by a cancel; usage_estimated:
-- the provider sent no usage), in one round trip: the function scopes itself
-- (core/database/scope.py SELF_SCOPED).
/* scopes itself */ SELECT outcome, reply_seq, cost, limit_reached
  FROM mukti_complete_stream_v2(:request_id, :content, :prompt_tokens, :completion_tokens, :latency_ms,
                                :first_token_ms, :usage_estimated, :stopped, :user_id::uuid)

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
