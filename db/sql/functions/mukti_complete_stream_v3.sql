-- Store a streamed reply of p_user_id's request, in one round trip: the transaction is
-- scoped to the owner (mukti_scope_to_user_v1; core/database/scope.py SELF_SCOPED), the
-- reply stored by mukti_complete_request_v4 (which also sets the stream's columns and
-- refuses a request cancelled meanwhile, under its lock), the relayed pieces deleted (the
-- stored reply replaces them) and the API processes told (channel mukti_stream, a state
-- item: they read the reply and send `done`).
-- v3: v2 without the nested mukti_complete_stream_v1, whose status check before the
-- locks and second update of the request row v4 of the lifecycle function now does; and
-- planned without sequential scans (see mukti_submit_question_v6): the pieces of the
-- requests streaming now are often none when a worker's session plans the delete.
CREATE FUNCTION mukti_complete_stream_v3(
    p_request_id uuid,
    p_content text,
    p_prompt_tokens integer,
    p_completion_tokens integer,
    p_latency_ms integer,
    p_first_token_ms integer,
    p_usage_estimated boolean,
    p_stopped boolean,
    p_user_id uuid,
    OUT outcome text,
    OUT reply_seq integer,
    OUT cost numeric,
    OUT limit_reached text
)
    LANGUAGE plpgsql
    SET enable_seqscan = off
AS $$
BEGIN
    PERFORM mukti_scope_to_user_v1(p_user_id);
    SELECT c.outcome, c.reply_seq, c.cost, c.limit_reached INTO outcome, reply_seq, cost, limit_reached
      FROM mukti_complete_request_v4(p_request_id, p_content, p_prompt_tokens, p_completion_tokens, p_latency_ms,
                                     p_first_token_ms, p_usage_estimated, p_stopped) AS c;
    IF outcome <> 'completed' THEN
        RETURN;
    END IF;
    DELETE FROM request_stream_chunks s WHERE s.request_id = p_request_id;
    PERFORM pg_notify('mukti_stream', json_build_array(json_build_array(p_request_id, 's'))::text);
END;
$$;
