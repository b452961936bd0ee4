-- The rows in the default partitions of the partitioned tables, a count per table: rows
-- for a range nobody created a partition for (the ensure_partitions task adopts them).
-- Read by the maintenance check every 5 minutes (jobs/maintenance.py) and by /metrics.
--
-- SECURITY DEFINER: the partitions hold every user's rows, and Row-Level Security admits
-- none to the app role without a user's scope. Until this function the check ran as the
-- app role on Procrastinate's connection (logged in as it in production) and always read
-- 0; it returns counts only. Only the app may call it (migration 0032).
CREATE FUNCTION mukti_default_partition_rows_v1()
    RETURNS TABLE (table_name text, n bigint)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT 'archived_messages', count(*) FROM archived_messages_default
    UNION ALL
    SELECT 'usage_events', count(*) FROM usage_events_default;
$$;
