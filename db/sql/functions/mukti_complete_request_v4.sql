-- Store the LLM's reply to a request: the back half of the question flow, one transaction.
-- v4: v3 plus what streaming adds (every reply is streamed), in the same statements, for
-- less database work per answer (docs/performance.md "Answering a question"):
-- - the stream's columns (p_stopped: cut short by a cancel; p_usage_estimated: the
--   provider sent no usage; p_first_token_ms) are set by the update that completes the
--   request, instead of a second update of the row (mukti_complete_stream_v1);
-- - a request found cancelled under its lock gives 'already_cancelled' (nothing written):
--   v1 of the stream wrapper checked before taking the locks, which left a gap in which a
--   pending request cancelled meanwhile could still be completed by a worker that outlived
--   its heartbeat;
-- - a user who has set no language gets 'english' without the call of
--   mukti_text_search_config_v1, a SQL function planned on every call (as in
--   mukti_submit_question_v5);
-- - planned without sequential scans, as mukti_submit_question_v6 is (the plans a worker's
--   session made while the queue tables were nearly empty scanned them whole as they grew).
-- What v3 says holds otherwise:
--
-- v3: v2 plus the dialogue (API.md "Dialogue"): a 'regenerate' request writes a new
-- version of its target reply in place (the text it replaces becomes a version in
-- message_versions; seq and message count stay), monthly token counters
-- (mukti_charge_subscription_v2), and a conversation still on its default title gets a
-- title job (low priority, once: title_source 'default' -> 'pending').
--
-- In order: the request row is locked (a second run of the same job waits here, then
-- sees 'completed' and writes nothing: at most one reply per request, guarded also by
-- request_queue_reply_key and recent_messages_reply_key); the subscription, then the
-- conversation are locked (the lock order of mukti_submit_question_v3); the reply gets
-- the next seq; everything beyond the 50 most recent messages moves to the archive;
-- the request completes; the usage event, the daily aggregate and the subscription's
-- counters move together; a limit reached blocks the user until the window ends and
-- notifies them once per window.
--
-- outcome: 'completed', 'already_completed' (reply_seq is the earlier reply),
-- 'already_failed', 'already_cancelled' or 'not_found' (nothing written).
-- limit_reached: NULL, 'daily_limit_reached' or 'hourly_limit_reached' (when notified).
CREATE FUNCTION mukti_complete_request_v4(
    p_request_id uuid,
    p_content text,
    p_prompt_tokens integer,
    p_completion_tokens integer,
    p_latency_ms integer,
    p_first_token_ms integer DEFAULT NULL,
    p_usage_estimated boolean DEFAULT false,
    p_stopped boolean DEFAULT false,
    OUT outcome text,
    OUT reply_seq integer,
    OUT cost numeric,
    OUT limit_reached text
)
    LANGUAGE plpgsql
    SET enable_seqscan = off
AS $$
DECLARE
    r            request_queue%ROWTYPE;
    v_now        timestamptz := clock_timestamp();
    v_sub_id     uuid;
    v_plan_id    text;
    v_per_hour   integer;
    v_per_day    integer;
    v_seq        integer;
    v_archived   integer;
    v_technique  uuid;
    v_n_day      integer;
    v_n_hour     integer;
    v_limit      integer;
    v_count      integer;
    v_window     interval;
    v_window_end timestamptz;
    v_upgrade    plans%ROWTYPE;
    v_body       text;
    v_ts_config  regconfig;
    v_preferences jsonb;
    v_title      text;
BEGIN
    -- Lock order, as everywhere: subscription, then conversation, then the request
    -- (mukti_submit_question_v3, mukti_delete_conversation_v1). The request is read
    -- unlocked to learn whose it is, then re-read under its lock once the others are held.
    SELECT * INTO r FROM request_queue q WHERE q.id = p_request_id;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;

    SELECT s.id, p.id, p.per_hour, p.per_day INTO v_sub_id, v_plan_id, v_per_hour, v_per_day
      FROM subscriptions s JOIN plans p ON p.id = s.plan_id
     WHERE s.user_id = r.user_id
       FOR UPDATE OF s;
    PERFORM 1 FROM conversations c WHERE c.id = r.conversation_id FOR UPDATE;

    SELECT * INTO r FROM request_queue q WHERE q.id = p_request_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';  -- its conversation was deleted meanwhile
        RETURN;
    ELSIF r.status = 'completed' THEN
        outcome := 'already_completed';
        reply_seq := r.reply_seq;
        RETURN;
    ELSIF r.status = 'failed' THEN
        outcome := 'already_failed';
        RETURN;
    ELSIF r.status = 'cancelled' THEN
        outcome := 'already_cancelled';
        RETURN;
    END IF;
    SELECT u.preferences INTO v_preferences FROM users u WHERE u.id = r.user_id;
    v_ts_config := CASE WHEN jsonb_typeof(v_preferences -> 'language') = 'string'
                        THEN mukti_text_search_config_v1(v_preferences) ELSE 'english'::regconfig END;

    IF r.kind = 'regenerate' THEN
        -- A new version of reply r.target_seq, in place: the text it replaces is kept as
        -- a version. The reply is recent (it was the last message when this was asked);
        -- should 50 questions have followed meanwhile, it is updated in the archive.
        v_seq := r.target_seq;
        UPDATE conversations c SET last_activity_at = v_now, updated_at = v_now
         WHERE c.id = r.conversation_id
        RETURNING c.technique_id, c.title_source INTO v_technique, v_title;
        INSERT INTO message_versions (conversation_id, seq, version, user_id, role, content, created_at, replaced_at)
        SELECT m.conversation_id, m.seq,
               1 + (SELECT count(*) FROM message_versions v WHERE v.conversation_id = m.conversation_id AND v.seq = m.seq),
               m.user_id, m.role, m.content, m.created_at, v_now
          FROM (SELECT conversation_id, seq, user_id, role, content, created_at FROM recent_messages
                 WHERE conversation_id = r.conversation_id AND seq = v_seq
                UNION ALL
                SELECT conversation_id, seq, user_id, role, content, created_at FROM archived_messages
                 WHERE conversation_id = r.conversation_id AND seq = v_seq
                LIMIT 1) m;
        UPDATE recent_messages SET content = p_content, request_id = r.id, ts_config = v_ts_config, created_at = v_now
         WHERE conversation_id = r.conversation_id AND seq = v_seq;
        IF NOT FOUND THEN
            UPDATE archived_messages SET content = p_content, request_id = r.id, ts_config = v_ts_config
             WHERE conversation_id = r.conversation_id AND seq = v_seq;
        END IF;
    ELSE
        UPDATE conversations c
           SET message_count = c.message_count + 1, last_activity_at = v_now, updated_at = v_now
         WHERE c.id = r.conversation_id
        RETURNING c.message_count, c.archived_count, c.technique_id, c.title_source
          INTO v_seq, v_archived, v_technique, v_title;

        -- Stemmed in the user's language, as their searches are (mukti_text_search_config_v1).
        INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, request_id, ts_config, created_at)
        VALUES (r.conversation_id, v_seq, r.user_id, 'assistant', p_content, r.id, v_ts_config, v_now);

        PERFORM mukti_archive_overflow_v1(r.conversation_id, v_seq, v_archived);
    END IF;

    -- A conversation created without a title gets one made from its first exchange, by a
    -- low-priority job of its own (never over a title the user set: see title_source).
    IF v_title = 'default' THEN
        UPDATE conversations SET title_source = 'pending' WHERE id = r.conversation_id;
        PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
            'titles', 'generate_title', 0, NULL, NULL,
            jsonb_build_object('conversation_id', r.conversation_id::text, 'user_id', r.user_id::text), NULL
        )::procrastinate_job_to_defer_v1]);
    END IF;

    SELECT round(p_prompt_tokens * mp.prompt_per_1k / 1000 + p_completion_tokens * mp.completion_per_1k / 1000, 6)
      INTO cost
      FROM model_prices mp
     WHERE mp.model = r.model AND mp.effective_from <= v_now
     ORDER BY mp.effective_from DESC
     LIMIT 1;
    cost := coalesce(cost, 0);

    UPDATE request_queue
       SET status = 'completed', reply_seq = v_seq, prompt_tokens = p_prompt_tokens,
           completion_tokens = p_completion_tokens, completed_at = v_now, next_attempt_at = NULL, error = NULL,
           stopped = p_stopped, usage_estimated = p_usage_estimated, first_token_ms = p_first_token_ms
     WHERE id = r.id;

    INSERT INTO usage_events (user_id, occurred_at, event_type, conversation_id, request_id, model, technique_id,
                              prompt_tokens, completion_tokens, cost, latency_ms)
    VALUES (r.user_id, v_now, 'question', r.conversation_id, r.id, r.model, v_technique,
            p_prompt_tokens, p_completion_tokens, cost, p_latency_ms);

    INSERT INTO daily_usage_aggregates AS a (user_id, day, model, technique_id, questions, prompt_tokens,
                                             completion_tokens, cost, total_latency_ms, updated_at)
    VALUES (r.user_id, (v_now AT TIME ZONE 'UTC')::date, r.model, v_technique, 1, p_prompt_tokens,
            p_completion_tokens, cost, coalesce(p_latency_ms, 0), v_now)
    ON CONFLICT ON CONSTRAINT daily_usage_aggregates_key DO UPDATE
       SET questions = a.questions + 1,
           prompt_tokens = a.prompt_tokens + excluded.prompt_tokens,
           completion_tokens = a.completion_tokens + excluded.completion_tokens,
           cost = a.cost + excluded.cost,
           total_latency_ms = a.total_latency_ms + excluded.total_latency_ms,
           updated_at = excluded.updated_at;

    PERFORM mukti_charge_subscription_v2(v_sub_id, v_now, 0, p_prompt_tokens + p_completion_tokens, cost, false);

    outcome := 'completed';
    reply_seq := v_seq;

    -- Limits are sliding windows over the accepted questions (rate_limits, as in
    -- mukti_submit_question_v3): the block lasts until the hit that fills the window
    -- leaves it, which is exactly when the next question will be accepted.
    SELECT h.n_day, h.n_hour INTO v_n_day, v_n_hour FROM mukti_question_hits_v1(r.user_id::text, v_now) h;
    IF v_n_day >= v_per_day THEN
        v_window := interval '1 day';
        v_limit := v_per_day;
        v_count := v_n_day;
        limit_reached := 'daily_limit_reached';
    ELSIF v_n_hour >= v_per_hour THEN
        v_window := interval '1 hour';
        v_limit := v_per_hour;
        v_count := v_n_hour;
        limit_reached := 'hourly_limit_reached';
    ELSE
        RETURN;
    END IF;
    v_window_end := mukti_question_window_frees_at_v1(r.user_id::text, v_now, v_window, v_limit, v_count);
    -- The cheapest plan that allows more in this window, suggested as the upgrade.
    SELECT * INTO v_upgrade FROM plans
     WHERE CASE WHEN v_window = interval '1 day' THEN per_day > v_per_day ELSE per_hour > v_per_hour END
     ORDER BY price_per_month, id LIMIT 1;
    v_body := format('You have asked all %s questions your plan allows in %s; you can ask again at %s UTC.',
                     v_limit, CASE WHEN v_window = interval '1 day' THEN '24 hours' ELSE 'an hour' END,
                     to_char(v_window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'));
    IF v_upgrade.id IS NOT NULL THEN
        v_body := v_body || format(' Upgrade to %s for up to %s questions %s.', v_upgrade.name,
                                   CASE WHEN v_window = interval '1 day' THEN v_upgrade.per_day ELSE v_upgrade.per_hour END,
                                   CASE WHEN v_window = interval '1 day' THEN 'a day' ELSE 'an hour' END);
    END IF;

    -- Once per window: the subscription lock serialises this check per user.
    IF EXISTS (SELECT 1 FROM notifications n
                WHERE n.user_id = r.user_id AND n.kind = limit_reached AND n.created_at > v_now - v_window) THEN
        limit_reached := NULL;
        RETURN;
    END IF;
    UPDATE subscriptions SET blocked_until = greatest(blocked_until, v_window_end) WHERE id = v_sub_id;
    INSERT INTO notifications (user_id, kind, title, body, data, created_at)
    VALUES (r.user_id, limit_reached,
            CASE limit_reached WHEN 'daily_limit_reached' THEN 'Daily limit reached' ELSE 'Hourly limit reached' END,
            v_body,
            jsonb_build_object('plan', v_plan_id, 'blocked_until', v_window_end, 'upgrade_to', v_upgrade.id),
            v_now);
    PERFORM mukti_enqueue_webhook_v1(r.user_id, 'limit.reached', jsonb_build_object(
        'kind', limit_reached, 'plan', v_plan_id, 'blocked_until', v_window_end, 'upgrade_to', v_upgrade.id));
END;
$$;
