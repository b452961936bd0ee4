-- When a full sliding window of accepted questions has room again: p_count hits counted
-- in the p_window before p_now against a limit of p_limit, so the (p_count - p_limit + 1)-th
-- oldest of them must leave it. NULL when the window is not full (or p_limit is NULL).
CREATE FUNCTION mukti_question_window_frees_at_v1(
    p_subject text,
    p_now timestamptz,
    p_window interval,
    p_limit integer,
    p_count integer
)
    RETURNS timestamptz
    LANGUAGE plpgsql
    STABLE
AS $$
DECLARE
    v_frees_at timestamptz;
BEGIN
    IF p_limit IS NULL OR p_count < p_limit THEN
        RETURN NULL;
    END IF;
    SELECT r.hit_at + p_window INTO v_frees_at
      FROM rate_limits r
     WHERE r.action = 'question' AND r.subject = p_subject AND r.hit_at > p_now - p_window
     ORDER BY r.hit_at
    OFFSET p_count - p_limit LIMIT 1;
    RETURN v_frees_at;
END;
$$;
