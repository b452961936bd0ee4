-- The sliding windows of a user's accepted questions (rate_limits, action 'question'):
-- how many hits the last day, the last hour and the last p_burst hold at p_now. One
-- index-only range scan of rate_limits_window_idx covers the three windows.
CREATE FUNCTION mukti_question_hits_v1(
    p_subject text,
    p_now timestamptz,
    p_burst interval DEFAULT interval '0',
    OUT n_day integer,
    OUT n_hour integer,
    OUT n_burst integer
)
    LANGUAGE plpgsql
    STABLE
AS $$
BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE r.hit_at > p_now - interval '1 hour'),
           count(*) FILTER (WHERE r.hit_at > p_now - p_burst)
      INTO n_day, n_hour, n_burst
      FROM rate_limits r
     WHERE r.action = 'question' AND r.subject = p_subject
       AND r.hit_at > p_now - greatest(interval '1 day', p_burst);
END;
$$;
