-- Store a streamed reply: mukti_complete_request_v3 (reply, archive, usage, limits in
-- one transaction), plus what streaming adds, in the same transaction: whether the reply
-- was stopped by a cancel, whether its usage is estimated (the provider's stream carried
-- none), its time to first token; the relayed pieces are deleted (the stored reply
-- replaces them) and the API processes are told (channel mukti_stream, a state item:
-- they read the reply and send `done`).
--
-- A wrapper rather than a new version of mukti_complete_request: the lifecycle function
-- stays one, and this adds only the streaming columns. A request cancelled while pending
-- is never completed (its job is gone and mukti_cancel_request_v1 only cancels pending
-- requests); the check below guards a worker that outlived its heartbeat.
CREATE FUNCTION mukti_complete_stream_v1(
    p_request_id uuid,
    p_content text,
    p_prompt_tokens integer,
    p_completion_tokens integer,
    p_latency_ms integer,
    p_first_token_ms integer,
    p_usage_estimated boolean,
    p_stopped boolean,
    OUT outcome text,
    OUT reply_seq integer,
    OUT cost numeric,
    OUT limit_reached text
)
    LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM request_queue q WHERE q.id = p_request_id AND q.status = 'cancelled') THEN
        outcome := 'already_cancelled';
        RETURN;
    END IF;
    SELECT c.outcome, c.reply_seq, c.cost, c.limit_reached INTO outcome, reply_seq, cost, limit_reached
      FROM mukti_complete_request_v3(p_request_id, p_content, p_prompt_tokens, p_completion_tokens,
                                     p_latency_ms) AS c;
    IF outcome <> 'completed' THEN
        RETURN;
    END IF;
    UPDATE request_queue q
       SET stopped = p_stopped, usage_estimated = p_usage_estimated, first_token_ms = p_first_token_ms
     WHERE q.id = p_request_id;
    DELETE FROM request_stream_chunks s WHERE s.request_id = p_request_id;
    PERFORM pg_notify('mukti_stream', json_build_array(json_build_array(p_request_id, 's'))::text);
END;
$$;
