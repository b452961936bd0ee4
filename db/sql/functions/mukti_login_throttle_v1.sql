-- Login throttling over the rate_limits sliding-window log, in one atomic step.
--
-- Each attempt reserves one hit per subject (e.g. a keyed hash of the email, another of
-- the client address) BEFORE the password is checked, so concurrent guesses cannot slip
-- past the limit between "count" and "insert". A successful login deletes its own hits
-- (hit_ids), so only failures count. When any subject is at its limit nothing is recorded
-- and retry_after is the whole number of seconds until its oldest counted hit leaves the
-- window (> 0); otherwise retry_after is 0.
CREATE FUNCTION mukti_login_throttle_v1(
    p_action text,
    p_subjects text[],
    p_limits integer[],
    p_window interval,
    OUT retry_after integer,
    OUT hit_ids bigint[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_subject text;
    v_limit integer;
    v_frees_at timestamptz;
    v_id bigint;
BEGIN
    retry_after := 0;
    hit_ids := '{}';
    -- Attempts on the same subject queue up here until the transaction ends; a fixed
    -- lock order keeps two calls with overlapping subjects from deadlocking.
    FOR v_subject IN SELECT DISTINCT s FROM unnest(p_subjects) AS s ORDER BY s LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(p_action || ':' || v_subject, 0));
    END LOOP;

    FOR i IN 1 .. coalesce(array_length(p_subjects, 1), 0) LOOP
        v_subject := p_subjects[i];
        v_limit := p_limits[i];
        -- Expired hits of this subject are dead weight; dropping them keeps the log small.
        DELETE FROM rate_limits
         WHERE action = p_action AND subject = v_subject AND expires_at <= v_now;
        -- The hit whose expiry brings the count back under the limit: with n hits in the
        -- window, the (n - limit + 1)-th oldest.
        SELECT h.hit_at + p_window INTO v_frees_at
          FROM (SELECT hit_at, count(*) OVER () AS n,
                       row_number() OVER (ORDER BY hit_at) AS k
                  FROM rate_limits
                 WHERE action = p_action AND subject = v_subject AND hit_at > v_now - p_window) AS h
         WHERE h.n >= v_limit AND h.k = h.n - v_limit + 1;
        IF FOUND THEN
            retry_after := greatest(retry_after,
                                    greatest(1, ceil(extract(epoch FROM v_frees_at - v_now))::integer));
        END IF;
    END LOOP;

    IF retry_after > 0 THEN
        RETURN;
    END IF;

    FOR i IN 1 .. coalesce(array_length(p_subjects, 1), 0) LOOP
        INSERT INTO rate_limits (action, subject, hit_at, expires_at)
        VALUES (p_action, p_subjects[i], v_now, v_now + p_window)
        RETURNING id INTO v_id;
        hit_ids := hit_ids || v_id;
    END LOOP;
END;
$$;
