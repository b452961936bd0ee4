-- mukti_refresh_matviews_v2()
-- As mukti_refresh_matviews_v1 (every materialized view of the analytics schema,
-- CONCURRENTLY once populated), and records when each was refreshed and how long it
-- took in analytics.matview_refreshes, which analysts can read. Returns how many it
-- refreshed. SECURITY DEFINER: REFRESH needs the owner; EXECUTE for mukti_app only.
CREATE FUNCTION mukti_refresh_matviews_v2()
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    mv        record;
    started   timestamptz;
    refreshed integer := 0;
BEGIN
    FOR mv IN
        SELECT matviewname, format('%I.%I', schemaname, matviewname) AS name, ispopulated
          FROM pg_matviews WHERE schemaname = 'analytics' ORDER BY matviewname
    LOOP
        started := clock_timestamp();
        EXECUTE format('REFRESH MATERIALIZED VIEW %s %s',
                       CASE WHEN mv.ispopulated THEN 'CONCURRENTLY' ELSE '' END, mv.name);
        INSERT INTO analytics.matview_refreshes AS r (matview, refreshed_at, duration_ms)
        VALUES (mv.matviewname, started, round(extract(epoch FROM clock_timestamp() - started) * 1000, 3))
        ON CONFLICT ON CONSTRAINT analytics_matview_refreshes_pkey DO UPDATE
           SET refreshed_at = excluded.refreshed_at, duration_ms = excluded.duration_ms;
        refreshed := refreshed + 1;
    END LOOP;
    RETURN refreshed;
END;
$$;
