-- Store a streamed reply of p_user_id's request and finish the Procrastinate job that
-- answered it, in one transaction and one round trip: the job deleted as
-- procrastinate_finish_job_v1 deletes a succeeded job (the worker runs with delete_jobs =
-- 'successful'; jobs/worker.py then skips Procrastinate's own finish for that job), then
-- mukti_complete_stream_v3. Whatever the outcome (completed, or a request finished or
-- cancelled meanwhile), the answering task returns normally, so its job is done.
-- The delete comes first: it needs no lock another answer waits for, while v3 locks the
-- user's subscription and usage rows, which are held until the commit.
-- Before v4 the job was finished by a second transaction after this one: one commit, one
-- round trip and one psycopg call more per answer, and a worker that died between the two
-- left a job whose rerun found its request already answered.
-- A wrapper of v3, not a copy of it: v3's body is planned under this function's setting.
CREATE FUNCTION mukti_complete_stream_v4(
    p_request_id uuid,
    p_content text,
    p_prompt_tokens integer,
    p_completion_tokens integer,
    p_latency_ms integer,
    p_first_token_ms integer,
    p_usage_estimated boolean,
    p_stopped boolean,
    p_user_id uuid,
    p_job_id bigint,
    OUT outcome text,
    OUT reply_seq integer,
    OUT cost numeric,
    OUT limit_reached text
)
    LANGUAGE plpgsql
    SET enable_seqscan = off
AS $$
BEGIN
    DELETE FROM procrastinate_jobs j WHERE j.id = p_job_id AND j.status = 'doing';
    SELECT c.outcome, c.reply_seq, c.cost, c.limit_reached INTO outcome, reply_seq, cost, limit_reached
      FROM mukti_complete_stream_v3(p_request_id, p_content, p_prompt_tokens, p_completion_tokens, p_latency_ms,
                                    p_first_token_ms, p_usage_estimated, p_stopped, p_user_id) AS c;
END;
$$;
