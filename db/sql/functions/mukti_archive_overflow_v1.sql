-- Keep a conversation's 50 most recent messages in recent_messages: the messages older
-- than that move to archived_messages (created_at and stemming kept) in one statement, in
-- the caller's transaction. The one place the size of the recent window is stated.
--
-- p_seq is the conversation's latest seq, p_archived its archived_count before the call;
-- the caller holds the conversation's row lock (both lifecycle functions do).
CREATE FUNCTION mukti_archive_overflow_v1(p_conversation_id uuid, p_seq integer, p_archived integer)
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    c_recent CONSTANT integer := 50;
BEGIN
    IF p_seq - p_archived <= c_recent THEN
        RETURN;
    END IF;
    WITH moved AS (
        DELETE FROM recent_messages m
         WHERE m.conversation_id = p_conversation_id AND m.seq <= p_seq - c_recent
        RETURNING m.conversation_id, m.seq, m.user_id, m.role, m.content, m.request_id, m.ts_config, m.created_at)
    INSERT INTO archived_messages (conversation_id, seq, user_id, role, content, request_id, ts_config, created_at)
    SELECT * FROM moved;
    UPDATE conversations SET archived_count = p_seq - c_recent WHERE id = p_conversation_id;
END;
$$;
