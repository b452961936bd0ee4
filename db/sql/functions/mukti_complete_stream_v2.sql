-- Store a streamed reply: mukti_complete_stream_v1 in a transaction scoped to the
-- request's owner p_user_id (mukti_scope_to_user_v1), so that the worker sends it alone,
-- in one round trip instead of three (core/database/scope.py SELF_SCOPED).
CREATE FUNCTION mukti_complete_stream_v2(
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
AS $$
BEGIN
    PERFORM mukti_scope_to_user_v1(p_user_id);
    SELECT c.outcome, c.reply_seq, c.cost, c.limit_reached INTO outcome, reply_seq, cost, limit_reached
      FROM mukti_complete_stream_v1(p_request_id, p_content, p_prompt_tokens, p_completion_tokens, p_latency_ms,
                                    p_first_token_ms, p_usage_estimated, p_stopped) AS c;
END;
$$;
