-- Delete up to p_batch expired rate_limits rows; returns how many went. The maintenance
-- job calls it until it returns less than p_batch: short transactions, no long locks,
-- and SKIP LOCKED lets two maintenance runs share the work.
CREATE FUNCTION mukti_purge_rate_limits_v1(p_batch integer DEFAULT 10000)
    RETURNS integer
    LANGUAGE sql
AS $$
    WITH doomed AS (
        SELECT id FROM rate_limits
         WHERE expires_at <= now()
         ORDER BY expires_at
         LIMIT p_batch
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM rate_limits r USING doomed d WHERE r.id = d.id RETURNING 1
    )
    SELECT count(*)::integer FROM gone;
$$;
