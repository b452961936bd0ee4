-- Record a failed LLM attempt of a request that is being processed.
--
-- With attempts left: back to 'pending' with next_attempt_at = now + p_retry_in_seconds
-- (outcome 'retry'; the job is rescheduled for that time by the caller). Without: the
-- request fails for good with its error, the user gets a notification and, when they
-- have a webhook_url, a signed webhook (outcome 'failed'). A request that is no longer
-- pending or processing is left alone (outcome 'noop').
CREATE FUNCTION mukti_fail_attempt_v1(
    p_request_id uuid,
    p_error text,
    p_retry_in_seconds double precision,
    OUT outcome text,
    OUT attempts integer,
    OUT next_attempt_at timestamptz
)
    LANGUAGE plpgsql
AS $$
DECLARE
    r     request_queue%ROWTYPE;
    v_now timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO r FROM request_queue q WHERE q.id = p_request_id FOR UPDATE;
    IF NOT FOUND OR r.status NOT IN ('pending', 'processing') THEN
        outcome := 'noop';
        RETURN;
    END IF;
    attempts := r.attempts;
    IF r.attempts < r.max_attempts THEN
        next_attempt_at := v_now + make_interval(secs => greatest(p_retry_in_seconds, 0));
        UPDATE request_queue q SET status = 'pending', next_attempt_at = mukti_fail_attempt_v1.next_attempt_at,
                                   error = p_error
         WHERE q.id = r.id;
        outcome := 'retry';
        RETURN;
    END IF;

    UPDATE request_queue q SET status = 'failed', completed_at = v_now, next_attempt_at = NULL, error = p_error
     WHERE q.id = r.id;
    INSERT INTO notifications (user_id, kind, title, body, data, created_at)
    VALUES (r.user_id, 'request_failed', 'Your question could not be answered',
            format('We tried %s times and could not get an answer (%s). Please ask again.', r.attempts, p_error),
            jsonb_build_object('request_id', r.id, 'conversation_id', r.conversation_id,
                               'message_seq', r.message_seq, 'error', p_error),
            v_now);
    PERFORM mukti_enqueue_webhook_v1(r.user_id, 'request.failed', jsonb_build_object(
        'request_id', r.id, 'conversation_id', r.conversation_id, 'message_seq', r.message_seq,
        'attempts', r.attempts, 'error', p_error,
        'failed_at', to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
    outcome := 'failed';
END;
$$;
