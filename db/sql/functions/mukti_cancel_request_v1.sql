-- Cancel a request of a user (POST /queue/{id}/cancel).
--
-- outcome:
--   'not_found'  not the user's request, or none (nothing written)
--   'cancelled'  it was pending: now 'cancelled', its job (unless a worker holds it
--                already: that worker finds the request cancelled and does nothing)
--                deleted, its quota slot given back (the sliding-window hit and the
--                fixed-window counters); no reply, no tokens billed
--   'stopping'   it is processing: cancel_requested_at is set; the worker sees it within
--                its poll interval (jobs/relay.py), stops the generation and stores the
--                reply as far as it got, marked stopped
--   'finished'   completed, failed or cancelled already (nothing written); status says which
--
-- Lock order, as everywhere: subscription, conversation, request.
CREATE FUNCTION mukti_cancel_request_v1(
    p_user_id uuid,
    p_request_id uuid,
    OUT outcome text,
    OUT status text
)
    LANGUAGE plpgsql
AS $$
DECLARE
    r        request_queue%ROWTYPE;
    v_now    timestamptz := clock_timestamp();
    v_hit_at timestamptz;
BEGIN
    SELECT * INTO r FROM request_queue q WHERE q.id = p_request_id AND q.user_id = p_user_id;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    PERFORM 1 FROM subscriptions s WHERE s.user_id = r.user_id FOR UPDATE;
    PERFORM 1 FROM conversations c WHERE c.id = r.conversation_id FOR UPDATE;
    SELECT * INTO r FROM request_queue q WHERE q.id = p_request_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';  -- its conversation was deleted meanwhile
        RETURN;
    END IF;
    status := r.status;

    IF r.status = 'processing' THEN
        UPDATE request_queue q SET cancel_requested_at = coalesce(q.cancel_requested_at, v_now) WHERE q.id = r.id;
        outcome := 'stopping';
        RETURN;
    ELSIF r.status <> 'pending' THEN
        outcome := 'finished';
        RETURN;
    END IF;

    UPDATE request_queue q
       SET status = 'cancelled', completed_at = v_now, next_attempt_at = NULL, cancel_requested_at = v_now
     WHERE q.id = r.id;
    DELETE FROM procrastinate_jobs j WHERE j.id = r.job_id AND j.status = 'todo';
    DELETE FROM request_stream_chunks s WHERE s.request_id = r.id;

    -- The quota slot: the hit this request took. Submits of one user serialise on the
    -- subscription's lock and take their hit before their request row, so the user's
    -- latest hit at or before the request's queued_at is its own (a regenerate has no
    -- new message to date it by).
    SELECT max(h.hit_at) INTO v_hit_at
      FROM rate_limits h
     WHERE h.action = 'question' AND h.subject = r.user_id::text AND h.hit_at <= r.queued_at;
    DELETE FROM rate_limits h
     WHERE h.id = (SELECT h2.id FROM rate_limits h2
                    WHERE h2.action = 'question' AND h2.subject = r.user_id::text AND h2.hit_at = v_hit_at
                    LIMIT 1);
    UPDATE subscriptions s
       SET questions_this_hour = CASE WHEN s.hour_window_start = date_trunc('hour', v_hit_at, 'UTC')
                                      THEN greatest(s.questions_this_hour - 1, 0) ELSE s.questions_this_hour END,
           questions_today     = CASE WHEN s.day_window_start = date_trunc('day', v_hit_at, 'UTC')
                                      THEN greatest(s.questions_today - 1, 0) ELSE s.questions_today END,
           -- (the monthly counter: migration 0017)
           questions_this_month = CASE WHEN s.month_window_start = date_trunc('month', v_hit_at, 'UTC')
                                       THEN greatest(s.questions_this_month - 1, 0) ELSE s.questions_this_month END,
           -- A window that was full has room again; the next question recomputes any block.
           blocked_until       = NULL,
           updated_at          = v_now
     WHERE s.user_id = r.user_id;

    PERFORM pg_notify('mukti_stream', json_build_array(json_build_array(r.id, 's'))::text);
    outcome := 'cancelled';
    status := 'cancelled';
END;
$$;
