-- Add a follow-up question (seed 002's proactive messages, as Socratic spaced review) to
-- a conversation claimed by the follow-up job: one assistant message with the next seq
-- (archive overflow as for any message), a notification and the user's webhook, and a
-- usage event of type 'follow_up'. Paid by the system's budget: the learner's quota and
-- counters are untouched, and the follow-up is not activity (last_activity_at stays, so
-- the next follow-up waits for the learner to come back and go idle again).
-- Returns the new seq, or NULL when the conversation is gone, its user is no longer
-- active, or the learner wrote since the claim (nothing written).
CREATE FUNCTION mukti_add_follow_up_v1(
    p_conversation_id uuid,
    p_content text,
    p_model text,
    p_prompt_tokens integer,
    p_completion_tokens integer
)
    RETURNS integer
    LANGUAGE plpgsql
AS $$
DECLARE
    v_conv      conversations%ROWTYPE;
    v_now       timestamptz := clock_timestamp();
    v_seq       integer;
    v_ts_config regconfig;
BEGIN
    SELECT c.* INTO v_conv FROM conversations c
      JOIN users u ON u.id = c.user_id AND u.status = 'active'
     WHERE c.id = p_conversation_id
       FOR UPDATE OF c;
    IF NOT FOUND OR v_conv.follow_up_at IS NULL OR v_conv.follow_up_at < v_conv.last_activity_at THEN
        RETURN NULL;
    END IF;
    v_ts_config := mukti_text_search_config_v1((SELECT u.preferences FROM users u WHERE u.id = v_conv.user_id));
    v_seq := v_conv.message_count + 1;
    UPDATE conversations SET message_count = v_seq, updated_at = v_now WHERE id = p_conversation_id;
    INSERT INTO recent_messages (conversation_id, seq, user_id, role, content, ts_config, created_at)
    VALUES (p_conversation_id, v_seq, v_conv.user_id, 'assistant', p_content, v_ts_config, v_now);
    PERFORM mukti_archive_overflow_v1(p_conversation_id, v_seq, v_conv.archived_count);

    INSERT INTO notifications (user_id, kind, title, body, data, created_at)
    VALUES (v_conv.user_id, 'follow_up', 'A question is waiting for you',
            format('Your tutor asks in "%s": %s', v_conv.title, left(p_content, 300)),
            jsonb_build_object('conversation_id', p_conversation_id, 'seq', v_seq), v_now);
    PERFORM mukti_enqueue_webhook_v1(v_conv.user_id, 'follow_up.created', jsonb_build_object(
        'conversation_id', p_conversation_id, 'seq', v_seq));
    INSERT INTO usage_events (user_id, occurred_at, event_type, conversation_id, model, technique_id,
                              prompt_tokens, completion_tokens, cost)
    VALUES (v_conv.user_id, v_now, 'follow_up', p_conversation_id, p_model, v_conv.technique_id,
            p_prompt_tokens, p_completion_tokens, 0);
    RETURN v_seq;
END;
$$;
