-- Ask a question, ask again for the last reply, or edit the last question: the front
-- half of the request flow in one call, one transaction.
-- v6: v5 (what it does, its outcomes and locks: see its file) planned without sequential
-- scans. SET enable_seqscan = off holds for the functions, triggers and foreign-key checks
-- it runs, unless the same session planned one of those first from elsewhere (plans are
-- not remade when a setting changes; the shared helpers v5 calls are called only from
-- functions that carry the setting, or from older versions). A session keeps the plans of
-- its first calls; made while the queue tables were empty or nearly (a quiet hour, a
-- purge, a fresh deployment), they scan those tables whole, and stay so as the queue
-- grows: with 8,000 questions pending, the queue position's count, the job's foreign-key
-- check and the sliding-window count took ~1.1-1.5 ms each instead of ~0.03 (4.95 ms a
-- call instead of 0.79, one session, docs/performance.md). Every statement of v5 finds its
-- rows through an index; on a table of a few pages the index costs next to nothing more.
-- A wrapper rather than a copy: v5's plans are made under the setting in every session
-- that asks through v6.
CREATE FUNCTION mukti_submit_question_v6(
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
