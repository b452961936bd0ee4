-- Ask a question: the whole front half of the request flow in one call, one transaction.
-- v2: v1 with its shared steps in helpers (mukti_question_max_chars_v1,
-- mukti_question_hits_v1, mukti_question_window_frees_at_v1, mukti_charge_subscription_v1,
-- mukti_archive_overflow_v1), which mukti_complete_request_v2 calls too.
--
-- Outcomes (column `outcome`):
--   'accepted'        request_id, message_seq, queue_position are set
--   'unauthorized'    the user does not exist or is not active; nothing written (the
--                     API checks this here instead of in its middleware: one round trip)
--   'not_found'       the conversation does not exist or is not the user's; nothing written
--   'rate_limited'    burst or hourly sliding window full; retry_after_seconds set
--   'quota_exhausted' daily sliding window full; retry_after_seconds set
-- A refusal is returned, not raised, so that its bookkeeping (subscriptions.blocked_until)
-- commits while nothing else is written.
--
-- Limits serialise per user on the subscription row (locked first, FOR UPDATE): N
-- concurrent calls from one user see each other's hits, so exactly per_hour pass.
-- Lock order: subscriptions, then conversations. Code that locks both must follow it.
--
-- Windows are sliding logs in rate_limits (one row per accepted question). A refused
-- call can retry when the hit that keeps the window full leaves it: with c hits counted
-- against a limit L, that is the (c - L + 1)-th oldest hit of the window.
CREATE FUNCTION mukti_submit_question_v2(
    p_user_id uuid,
    p_conversation_id uuid,
    p_content text,
    p_burst_limit integer,
    p_burst_window_seconds integer,
    p_max_attempts integer DEFAULT 3,
    OUT outcome text,
    OUT request_id uuid,
    OUT message_seq integer,
    OUT queue_position integer,
    OUT retry_after_seconds integer,
    OUT job_id bigint
)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_now          timestamptz;
    v_subject      text := p_user_id::text;
    v_sub_id       uuid;
    v_plan_id      text;
    v_per_hour     integer;
    v_per_day      integer;
    v_priority     integer;
    v_model        text;
    v_count        integer;
    v_archived     integer;
    v_burst        interval := make_interval(secs => greatest(coalesce(p_burst_window_seconds, 0), 0));
    v_burst_on     boolean := coalesce(p_burst_limit, 0) > 0 AND coalesce(p_burst_window_seconds, 0) > 0;
    v_n_day        integer;
    v_n_hour       integer;
    v_n_burst      integer;
    v_free_at      timestamptz;
    v_seq          integer;
    v_request_id   uuid := gen_random_uuid();
    v_queued_at    timestamptz;
    v_ts_config    regconfig;
BEGIN
    IF p_content IS NULL OR char_length(p_content) NOT BETWEEN 1 AND mukti_question_max_chars_v1()
       OR btrim(p_content, E' \t\r\n') = '' THEN
        RAISE EXCEPTION 'content must be 1 to % characters and not blank', mukti_question_max_chars_v1()
            USING ERRCODE = 'check_violation', CONSTRAINT = 'question_content_length';
    END IF;

    -- The usual case in one statement: an active user, their subscription and their
    -- conversation, locked in the lock order (FOR UPDATE OF locks s, then c).
    SELECT s.id, p.id, p.per_hour, p.per_day, p.priority, p.model, c.message_count, c.archived_count,
           mukti_text_search_config_v1(u.preferences)
      INTO v_sub_id, v_plan_id, v_per_hour, v_per_day, v_priority, v_model, v_count, v_archived, v_ts_config
      FROM users u
      JOIN subscriptions s ON s.user_id = u.id
      JOIN plans p ON p.id = s.plan_id
      JOIN conversations c ON c.id = p_conversation_id AND c.user_id = u.id
     WHERE u.id = p_user_id AND u.status = 'active'
       FOR UPDATE OF s, c;
    IF NOT FOUND THEN
        SELECT mukti_text_search_config_v1(u.preferences) INTO v_ts_config
          FROM users u WHERE u.id = p_user_id AND u.status = 'active';
        IF NOT FOUND THEN
            outcome := 'unauthorized';
            RETURN;
        END IF;
        -- A user without a subscription is on the default plan; create the row to lock it.
        INSERT INTO subscriptions (user_id, plan_id)
        SELECT p_user_id, id FROM plans WHERE is_default
        ON CONFLICT ON CONSTRAINT subscriptions_user_key DO NOTHING;
        SELECT s.id, p.id, p.per_hour, p.per_day, p.priority, p.model
          INTO STRICT v_sub_id, v_plan_id, v_per_hour, v_per_day, v_priority, v_model
          FROM subscriptions s JOIN plans p ON p.id = s.plan_id
         WHERE s.user_id = p_user_id
           FOR UPDATE OF s;
        SELECT c.message_count, c.archived_count INTO v_count, v_archived
          FROM conversations c
         WHERE c.id = p_conversation_id AND c.user_id = p_user_id
           FOR UPDATE;
        IF NOT FOUND THEN
            outcome := 'not_found';
            RETURN;
        END IF;
    END IF;
    -- Taken after the locks: time spent waiting for them must not count as time in the window.
    v_now := clock_timestamp();

    SELECT h.n_day, h.n_hour, h.n_burst INTO v_n_day, v_n_hour, v_n_burst
      FROM mukti_question_hits_v1(v_subject, v_now, v_burst) h;

    IF v_n_day >= v_per_day OR v_n_hour >= v_per_hour OR (v_burst_on AND v_n_burst >= p_burst_limit) THEN
        -- A slot frees when every full window has room again: the latest of their times.
        -- (greatest() skips the NULLs of the windows that are not full.)
        v_free_at := greatest(
            mukti_question_window_frees_at_v1(v_subject, v_now, interval '1 day', v_per_day, v_n_day),
            mukti_question_window_frees_at_v1(v_subject, v_now, interval '1 hour', v_per_hour, v_n_hour),
            mukti_question_window_frees_at_v1(v_subject, v_now, v_burst,
                                              CASE WHEN v_burst_on THEN p_burst_limit END, v_n_burst));
        v_free_at := greatest(coalesce(v_free_at, v_now), v_now);
        UPDATE subscriptions SET blocked_until = v_free_at WHERE id = v_sub_id;
        outcome := CASE WHEN v_n_day >= v_per_day THEN 'quota_exhausted' ELSE 'rate_limited' END;
        retry_after_seconds := greatest(ceil(extract(epoch FROM v_free_at - v_now)), 1)::integer;
        RETURN;
    END IF;

    v_seq := v_count + 1;
    -- The quota counters, then every other write of an accepted question in one statement
    -- (one executor start instead of five). The job comes first, so that its id (Procrastinate's fetch order) and
    -- queued_at (the order positions are counted in) are taken as close together as
    -- possible; request_queue takes the job id from it.
    PERFORM mukti_charge_subscription_v1(v_sub_id, v_now, 1, 0, 0, true);
    WITH hit AS (
        INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at)
        VALUES ('question', v_subject, p_user_id, v_now, v_now + interval '1 day')
    ), conv AS (
        UPDATE conversations SET message_count = v_seq, last_activity_at = v_now WHERE id = p_conversation_id
    ), job AS (
        SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(
            'questions', 'answer_question', v_priority, p_conversation_id::text, NULL,
            jsonb_build_object('request_id', v_request_id::text), NULL
        )::procrastinate_job_to_defer_v1]))[1] AS id
    ), message AS (
        -- Stemmed in the user's language, as their searches are (mukti_text_search_config_v1).
        INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, request_id, ts_config, created_at)
        VALUES (p_conversation_id, v_seq, p_user_id, 'user', p_content, v_request_id, v_ts_config, v_now)
    )
    INSERT INTO request_queue (id, user_id, conversation_id, message_seq, plan_id, model, priority,
                               status, max_attempts, job_id)
    SELECT v_request_id, p_user_id, p_conversation_id, v_seq, v_plan_id, v_model, v_priority,
           'pending', coalesce(p_max_attempts, 3), job.id
      FROM job
    RETURNING request_queue.job_id, request_queue.queued_at INTO job_id, v_queued_at;

    PERFORM mukti_archive_overflow_v1(p_conversation_id, v_seq, v_archived);

    outcome := 'accepted';
    request_id := v_request_id;
    message_seq := v_seq;
    -- The position (as mukti_queue_position_v1 counts it) from the pending counts, which
    -- include this request: minus the requests of its priority queued after it, which
    -- are only those that committed while this call ran (a few, whatever the backlog).
    SELECT (coalesce(sum(c.pending), 0)
            - (SELECT count(*) FROM request_queue o
                WHERE o.status = 'pending' AND o.priority = v_priority
                  AND (o.queued_at, o.id) > (v_queued_at, v_request_id)))::integer
      INTO queue_position
      FROM request_queue_pending_counts c
     WHERE c.priority >= v_priority;
END;
$$;
