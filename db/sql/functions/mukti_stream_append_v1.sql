-- Relay a batch of reply pieces from one worker process (jobs/relay.py): one statement,
-- one commit, however many replies are streaming.
--
-- Each piece i is text p_contents[i] of request p_request_ids[i], attempt p_attempts[i],
-- starting at character p_offsets[i] of that attempt's text. Pieces of requests that
-- are no longer processing (finished, cancelled, deleted meanwhile) are dropped. Every
-- payload is sent on channel mukti_stream: the live edge for the API processes, which
-- carries the same pieces packed by the caller (db/stream_channel.py); the rows are
-- what a late or reconnecting reader catches up from.
--
-- SECURITY DEFINER: one batch carries the pieces of many users' replies (Row-Level
-- Security would admit one user's); it writes only pieces of requests that are
-- processing, and returns a count. Only the app may call it (migration 0011).
--
-- The commit does not wait for the WAL flush: a piece lost in a crash belongs to an
-- attempt that the crash ends anyway (its retry starts over, with a `reset`).
-- NOTIFY serialises committing notifiers on one global lock: callers batch, so the
-- notifying commits per second stay a small budget (bench/stream.py measures it).
CREATE FUNCTION mukti_stream_append_v1(
    p_request_ids uuid[],
    p_attempts integer[],
    p_offsets integer[],
    p_user_ids uuid[],
    p_contents text[],
    p_payloads text[]
)
    RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    v_rows    integer;
    v_payload text;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO request_stream_chunks (request_id, attempt, start_offset, user_id, content)
    SELECT u.request_id, u.attempt, u.start_offset, u.user_id, u.content
      FROM unnest(p_request_ids, p_attempts, p_offsets, p_user_ids, p_contents)
           AS u (request_id, attempt, start_offset, user_id, content)
     WHERE EXISTS (SELECT 1 FROM request_queue q WHERE q.id = u.request_id AND q.status = 'processing')
    ON CONFLICT ON CONSTRAINT request_stream_chunks_pkey DO NOTHING;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    FOREACH v_payload IN ARRAY coalesce(p_payloads, '{}') LOOP
        PERFORM pg_notify('mukti_stream', v_payload);
    END LOOP;
    RETURN v_rows;
END;
$$;
