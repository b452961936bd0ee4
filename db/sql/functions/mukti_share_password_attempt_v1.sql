-- mukti_share_password_attempt_v1(subject, owner_id, max_attempts, window_seconds)
-- Reserves one password guess for `subject` (a shared link and a keyed hash of the
-- guesser's address) in the sliding-window log `rate_limits`, action 'share_password'.
-- Count and insert happen under a transaction-scoped advisory lock on the subject, so
-- concurrent guesses can never exceed `max_attempts` per window. Returns the id of the
-- reserved hit (the caller deletes it when the guess was right: only wrong guesses
-- count), or, when the window is full, a NULL id and the whole seconds until a slot frees.
CREATE FUNCTION mukti_share_password_attempt_v1(
    p_subject text, p_owner_id uuid, p_max_attempts integer, p_window_seconds integer
) RETURNS TABLE (attempt_id bigint, retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    window_len interval := make_interval(secs => p_window_seconds);
    started    timestamptz;
    hits       integer;
    frees_at   timestamptz;
    new_id     bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('share_password:' || p_subject, 0));
    started := clock_timestamp();
    SELECT count(*) INTO hits FROM rate_limits r
     WHERE r.action = 'share_password' AND r.subject = p_subject AND r.hit_at > started - window_len;
    IF hits >= p_max_attempts THEN
        -- The slot frees when the hit that took it leaves the window.
        SELECT r.hit_at + window_len INTO frees_at FROM rate_limits r
         WHERE r.action = 'share_password' AND r.subject = p_subject AND r.hit_at > started - window_len
         ORDER BY r.hit_at OFFSET hits - p_max_attempts LIMIT 1;
        RETURN QUERY SELECT NULL::bigint, greatest(1, ceil(extract(epoch FROM frees_at - started))::integer);
        RETURN;
    END IF;
    INSERT INTO rate_limits (action, subject, user_id, hit_at, expires_at)
    VALUES ('share_password', p_subject, p_owner_id, started, started + window_len)
    RETURNING id INTO new_id;
    RETURN QUERY SELECT new_id, 0;
END
$$;
