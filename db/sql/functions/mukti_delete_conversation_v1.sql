-- Delete a conversation of a user (messages, requests and shares cascade) and the jobs of
-- its requests that no worker has taken yet, so that no job is left without its request.
-- Returns false when the conversation is not the user's (or does not exist).
--
-- Lock order, as everywhere: subscription, then conversation, then request rows
-- (mukti_submit_question_v1, mukti_complete_request_v1). Once the conversation is locked
-- no question can be added to it, and each statement below takes a new snapshot (READ
-- COMMITTED), so it sees every request committed before the lock was granted.
CREATE FUNCTION mukti_delete_conversation_v1(p_conversation_id uuid, p_user_id uuid)
    RETURNS boolean
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM 1 FROM conversations c WHERE c.id = p_conversation_id AND c.user_id = p_user_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    DELETE FROM procrastinate_jobs j
     USING request_queue r
     WHERE r.conversation_id = p_conversation_id AND r.status = 'pending'
       AND j.id = r.job_id AND j.status = 'todo';
    DELETE FROM conversations c WHERE c.id = p_conversation_id;
    RETURN true;
END;
$$;
