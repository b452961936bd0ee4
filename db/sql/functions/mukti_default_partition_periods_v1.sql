-- mukti_default_partition_periods_v1()
-- The periods (UTC month of archived_messages, UTC day of usage_events) that have rows
-- in a default partition: the maintenance job makes each one's partition, which takes
-- its rows (mukti_ensure_partitions_v1). Normally none: two scans of empty tables.
-- SECURITY DEFINER: the rows belong to many users and the maintenance job runs as
-- mukti_app, which Row-Level Security shows none of (the owner is exempt, no FORCE).
CREATE FUNCTION mukti_default_partition_periods_v1()
RETURNS TABLE (table_name text, unit text, start_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT 'archived_messages', 'month', date_trunc('month', m.created_at, 'UTC')
      FROM public.archived_messages_default m GROUP BY 3
    UNION ALL
    SELECT 'usage_events', 'day', date_trunc('day', e.occurred_at, 'UTC')
      FROM public.usage_events_default e GROUP BY 3
$$;
