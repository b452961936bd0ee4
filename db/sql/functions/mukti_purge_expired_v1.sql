-- Delete up to p_batch rows of p_table that outlived p_keep; returns how many went, and
-- adds them to retention_runs (what /metrics shows). The maintenance job calls it until it
-- returns less than p_batch: each call is one short transaction, FOR UPDATE SKIP LOCKED
-- lets two maintenance runs share the work and never waits on a row a request holds.
-- `id = ANY(ARRAY(...))` deletes through the primary key (a join with the batch made the
-- planner hash the whole table: 357 ms against 90 ms per 5,000 of 400,000 rows).
--
-- What "outlived" means per table (the only tables accepted):
--   request_queue       finished (completed, failed, cancelled) for longer than p_keep
--   procrastinate_jobs  finished (succeeded, failed, cancelled, aborted), no event newer
--                       than p_keep, and not the latest run of a periodic task
--                       (procrastinate_periodic_defers still points at that one)
--   notifications, webhook_deliveries, audit_log   created longer than p_keep ago
--   refresh_tokens      expired longer than p_keep ago (a reused old token is refused
--                       as unknown instead of as expired: refused all the same)
--   shared_link_views   viewed longer than p_keep ago (shared_links.view_count keeps the count)
--
-- SECURITY DEFINER (owner: the migrator), because maintenance must see every user's rows
-- whatever row-level security the app role is under; it only deletes by age, through the
-- fixed statements below (no dynamic SQL), and EXECUTE is granted to mukti_app only.
CREATE FUNCTION mukti_purge_expired_v1(p_table text, p_keep interval, p_batch integer)
    RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    v_cutoff timestamptz := now() - p_keep;
    v_deleted integer;
BEGIN
    CASE p_table
    WHEN 'request_queue' THEN
        DELETE FROM request_queue WHERE id = ANY(ARRAY(
                SELECT id FROM request_queue
                 WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < v_cutoff
                 ORDER BY completed_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'procrastinate_jobs' THEN
        DELETE FROM procrastinate_jobs WHERE id = ANY(ARRAY(
                SELECT j.id FROM procrastinate_jobs j
                 WHERE j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
                   AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at >= v_cutoff)
                   AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers p WHERE p.job_id = j.id)
                 ORDER BY j.id LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'notifications' THEN
        DELETE FROM notifications WHERE id = ANY(ARRAY(
                SELECT id FROM notifications WHERE created_at < v_cutoff
                 ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'webhook_deliveries' THEN
        DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(
                SELECT id FROM webhook_deliveries WHERE created_at < v_cutoff
                 ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'refresh_tokens' THEN
        DELETE FROM refresh_tokens WHERE id = ANY(ARRAY(
                SELECT id FROM refresh_tokens WHERE expires_at < v_cutoff
                 ORDER BY expires_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'shared_link_views' THEN
        DELETE FROM shared_link_views WHERE id = ANY(ARRAY(
                SELECT id FROM shared_link_views WHERE viewed_at < v_cutoff
                 ORDER BY viewed_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    WHEN 'audit_log' THEN
        DELETE FROM audit_log WHERE id = ANY(ARRAY(
                SELECT id FROM audit_log WHERE created_at < v_cutoff
                 ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED));
    ELSE
        RAISE EXCEPTION 'mukti_purge_expired_v1: no lifetime is defined for table %', p_table
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;

    INSERT INTO retention_runs AS r (table_name, last_run_at, last_deleted, total_deleted)
    VALUES (p_table, now(), v_deleted, v_deleted)
    ON CONFLICT (table_name) DO UPDATE
       SET last_run_at = excluded.last_run_at,
           last_deleted = excluded.last_deleted,
           total_deleted = r.total_deleted + excluded.last_deleted;
    RETURN v_deleted;
END;
$$;
