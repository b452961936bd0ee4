-- Ask a question, ask again for the last reply, or edit the last question: the front
-- half of the request flow in one call, one transaction.
-- v7: v6's behaviour (v5 planned without sequential scans: see v6's file for why) as a
-- wrapper of v5 instead of a copy of its 210-line body. SET enable_seqscan = off holds for
-- the functions, triggers and foreign-key checks the call runs, so v5's plans are made
-- under the setting in every session that asks through v7 (unless the same session
-- planned one of them first from elsewhere: plans are not remade when a setting changes;
-- the shared helpers v5 calls are called only from functions that carry the setting, or
-- from older versions). One copy of the logic to keep, and pgbench-only
-- (bench/ask.py --pgbench-only, one run, side by side): v5 1,054/s, v7 1,157/s, as filed
-- 672/s.
CREATE FUNCTION mukti_submit_question_v7(
    p_user_id uuid,
    p_conversation_id uuid,
    p_content text,
    p_burst_limit integer,
    p_burst_window_seconds integer,
    p_max_attempts integer DEFAULT 3,
    p_mode text DEFAULT 'ask',
    p_seq integer DEFAULT NULL,
    OUT outcome text,
    OUT request_id uuid,
    OUT message_seq integer,
    OUT queue_position integer,
    OUT retry_after_seconds integer,
    OUT job_id bigint,
    OUT detail text
)
    LANGUAGE plpgsql
    SET enable_seqscan = off
AS $$
BEGIN
    SELECT s.outcome, s.request_id, s.message_seq, s.queue_position, s.retry_after_seconds, s.job_id, s.detail
      INTO outcome, request_id, message_seq, queue_position, retry_after_seconds, job_id, detail
      FROM mukti_submit_question_v5(p_user_id, p_conversation_id, p_content, p_burst_limit, p_burst_window_seconds,
                                    p_max_attempts, p_mode, p_seq) AS s;
END;
$$;
