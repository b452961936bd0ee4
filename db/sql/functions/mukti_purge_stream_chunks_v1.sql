-- Delete up to p_batch relayed reply pieces whose attempt ended without storing or
-- cancelling them (a worker killed mid-stream: the retry writes a new attempt; a
-- conversation deleted mid-stream); returns how many. A minute's grace leaves alone the
-- pieces of an attempt that is just starting. Completion and cancellation delete the
-- others at once (mukti_complete_stream_v1, mukti_cancel_request_v1).
--
-- SECURITY DEFINER: maintenance across users (Row-Level Security would admit none); it
-- deletes only such pieces and returns a count. Only the app may call it (migration 0011).
CREATE FUNCTION mukti_purge_stream_chunks_v1(p_batch integer)
    RETURNS integer
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH doomed AS (
        SELECT s.request_id, s.attempt, s.start_offset
          FROM request_stream_chunks s
         WHERE s.created_at < now() - interval '1 minute'
           AND NOT EXISTS (SELECT 1 FROM request_queue q
                            WHERE q.id = s.request_id AND q.status = 'processing' AND q.attempts = s.attempt)
         LIMIT p_batch
    ), deleted AS (
        DELETE FROM request_stream_chunks s
         USING doomed d
         WHERE (s.request_id, s.attempt, s.start_offset) = (d.request_id, d.attempt, d.start_offset)
        RETURNING 1
    )
    SELECT count(*)::integer FROM deleted;
$$;
