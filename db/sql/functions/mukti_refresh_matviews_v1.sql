-- mukti_refresh_matviews_v1()
-- Refreshes every materialized view of the analytics schema, CONCURRENTLY (readers are
-- never blocked; each matview has a unique index for it) once it has been populated.
-- Returns how many it refreshed. SECURITY DEFINER: REFRESH needs the owner, and the
-- worker runs as mukti_app; EXECUTE is granted to mukti_app only.
CREATE FUNCTION mukti_refresh_matviews_v1()
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    mv        record;
    refreshed integer := 0;
BEGIN
    FOR mv IN
        SELECT format('%I.%I', schemaname, matviewname) AS name, ispopulated
          FROM pg_matviews WHERE schemaname = 'analytics' ORDER BY matviewname
    LOOP
        EXECUTE format('REFRESH MATERIALIZED VIEW %s %s',
                       CASE WHEN mv.ispopulated THEN 'CONCURRENTLY' ELSE '' END, mv.name);
        refreshed := refreshed + 1;
    END LOOP;
    RETURN refreshed;
END;
$$;
