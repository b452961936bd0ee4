-- Take :request_id of p_user_id for one LLM attempt and load its whole context: the
-- request turns 'processing' (attempts + 1), and the row carries the recent messages up
-- to the question (replies to earlier questions included, later questions not; the
-- question itself even when already archived), the technique's prompt and questioning
-- style at the conversation's version, and the user's name and preferences. No row: the
-- request is finished (or gone, or not p_user_id's).
-- v1: the statement the worker sent as the named query answering_start_attempt inside
-- BEGIN and scope ... COMMIT (three round trips), now a function that scopes its
-- transaction to the owner itself (mukti_scope_to_user_v1), sent alone: one round trip
-- (core/database/scope.py SELF_SCOPED). Not SECURITY DEFINER: Row-Level Security applies
-- as before. Live viewers (api/live) learn that processing started: a state item on
-- mukti_stream, sent at commit.
CREATE FUNCTION mukti_start_attempt_v1(p_request_id uuid, p_user_id uuid)
    RETURNS TABLE (
        request_id uuid,
        user_id text,
        attempts integer,
        max_attempts integer,
        model text,
        message_seq integer,
        cancel_requested boolean,
        technique_name text,
        system_prompt text,
        questioning_style text,
        display_name text,
        preferences text,
        messages text
    )
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM mukti_scope_to_user_v1(p_user_id);
    RETURN QUERY
    WITH req AS (
        UPDATE request_queue q
           SET status = 'processing', attempts = q.attempts + 1, started_at = clock_timestamp(),
               next_attempt_at = NULL
         WHERE q.id = p_request_id AND q.status IN ('pending', 'processing')
        RETURNING q.id, q.user_id, q.conversation_id, q.message_seq, q.target_seq, q.model, q.attempts,
                  q.max_attempts, q.cancel_requested_at
    )
    SELECT req.id, req.user_id::text, req.attempts, req.max_attempts, req.model,
           req.message_seq, req.cancel_requested_at IS NOT NULL,
           tv.name, tv.system_prompt, tv.questioning_style,
           u.display_name, u.preferences::text,
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
                                          AND r2.seq = req.message_seq)) m)::text
      FROM req
      JOIN conversations c ON c.id = req.conversation_id
      JOIN users u ON u.id = req.user_id
      LEFT JOIN techniques t ON t.id = c.technique_id
      LEFT JOIN technique_versions tv
             ON tv.technique_id = t.id AND tv.version = coalesce(c.technique_version, t.approved_version, t.latest_version);
    IF FOUND THEN
        PERFORM pg_notify('mukti_stream', json_build_array(json_build_array(p_request_id, 's'))::text);
    END IF;
END;
$$;
