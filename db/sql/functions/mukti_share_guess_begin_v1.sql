-- Share-password throttling, step one of two: may this request verify a password now?
--
-- Only WRONG guesses count. They are 'share_password' rows in rate_limits (the
-- sliding-window log), one per subject: "<link>:<visitor>" (per link and address) and
-- "<link>" (per link, across addresses). A guess being verified right now holds a
-- 'share_password_pending' row per subject, with a short lease; sharing_guess_end turns
-- it into a failure (wrong password) or deletes it (right password). A failure's
-- expires_at is the end of its window, so the windows are set there, not here.
--
-- Per subject, with F failures in the window and P guesses in flight:
--   F >= limit      -> refused: retry_after > 0 is the whole number of seconds until the
--                      oldest counted failure leaves the window (from failures only).
--   F + P >= limit  -> busy: nothing is recorded and the caller asks again shortly.
--                      The in-flight guesses could all be wrong and fill the window, so
--                      this one cannot be let through yet; they could all be right, so
--                      it cannot be refused either. Waiting for them is what keeps both
--                      promises: never more than `limit` wrong guesses are verified, and a
--                      right password is never refused because of other right passwords.
--   otherwise       -> a pending row per subject is recorded; their ids are hit_ids.
CREATE FUNCTION mukti_share_guess_begin_v1(
    p_subjects text[],
    p_limits integer[],
    p_lease interval,
    OUT retry_after integer,
    OUT busy boolean,
    OUT hit_ids bigint[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_subject text;
    v_failures integer;
    v_pending integer;
    v_frees_at timestamptz;
    v_id bigint;
BEGIN
    retry_after := 0;
    busy := false;
    hit_ids := '{}';
    -- Checks of the same subject queue up here until the transaction ends; a fixed lock
    -- order keeps two calls with overlapping subjects from deadlocking.
    FOR v_subject IN SELECT DISTINCT s FROM unnest(p_subjects) AS s ORDER BY s LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('share_password:' || v_subject, 0));
    END LOOP;

    FOR i IN 1 .. coalesce(array_length(p_subjects, 1), 0) LOOP
        v_subject := p_subjects[i];
        -- Expired failures and abandoned leases are dead weight (and must not count).
        DELETE FROM rate_limits
         WHERE action IN ('share_password', 'share_password_pending') AND subject = v_subject
           AND expires_at <= v_now;
        SELECT count(*) FILTER (WHERE action = 'share_password'),
               count(*) FILTER (WHERE action = 'share_password_pending')
          INTO v_failures, v_pending
          FROM rate_limits
         WHERE action IN ('share_password', 'share_password_pending') AND subject = v_subject;
        IF v_failures >= p_limits[i] THEN
            -- The failure whose expiry brings the count back under the limit: the
            -- (F - limit + 1)-th oldest.
            SELECT r.expires_at INTO v_frees_at
              FROM rate_limits r
             WHERE r.action = 'share_password' AND r.subject = v_subject
             ORDER BY r.hit_at
            OFFSET v_failures - p_limits[i] LIMIT 1;
            retry_after := greatest(retry_after,
                                    greatest(1, ceil(extract(epoch FROM v_frees_at - v_now))::integer));
        ELSIF v_failures + v_pending >= p_limits[i] THEN
            busy := true;
        END IF;
    END LOOP;

    IF retry_after > 0 OR busy THEN
        busy := retry_after = 0;
        RETURN;
    END IF;

    FOR i IN 1 .. coalesce(array_length(p_subjects, 1), 0) LOOP
        INSERT INTO rate_limits (action, subject, hit_at, expires_at)
        VALUES ('share_password_pending', p_subjects[i], v_now, v_now + p_lease)
        RETURNING id INTO v_id;
        hit_ids := hit_ids || v_id;
    END LOOP;
END;
$$;
