-- mukti_drop_expired_partitions_v1(parent, keep)
-- Retention by whole partitions, never by a big DELETE: detaches and drops every range
-- partition of `parent` whose entire range ends at or before now() - keep. Returns the
-- names of the dropped partitions. The default partition (strays, watched by the
-- maintenance job) and unbounded ranges are never touched. Idempotent.
-- SECURITY DEFINER: the app role may run retention without owning the table (no DDL of
-- its own); EXECUTE is granted to mukti_app only (0009_roles.up.sql).
CREATE FUNCTION mukti_drop_expired_partitions_v1(parent regclass, keep interval)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
-- DETACH needs a brief ACCESS EXCLUSIVE lock on the parent: give up rather than queue
-- inserts behind a long reader; the next run tries again.
SET lock_timeout = '5s'
AS $$
DECLARE
    cutoff    timestamptz := now() - keep;
    part      record;
    bounds    text[];
    part_name text;
BEGIN
    -- It runs with its owner's rights for the app role: it may only expire tables whose
    -- raw rows are meant to expire, and never everything at once.
    IF parent <> 'usage_events'::regclass THEN
        RAISE EXCEPTION 'retention by partition is only for usage_events, not %', parent USING ERRCODE = '22023';
    END IF;
    IF keep < interval '1 day' THEN
        RAISE EXCEPTION 'keep must be at least 1 day, got %', keep USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = parent AND relkind = 'p') THEN
        RAISE EXCEPTION '% is not a partitioned table', parent USING ERRCODE = '22023';
    END IF;

    -- The same lock as mukti_ensure_partitions_v1: creating and dropping never interleave.
    PERFORM pg_advisory_xact_lock(hashtext('mukti_ensure_partitions'), parent::oid::integer);

    FOR part IN
        SELECT c.oid::regclass AS rel, pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = parent
         ORDER BY c.relname
    LOOP
        -- 'DEFAULT' and MINVALUE/MAXVALUE bounds do not match: never dropped.
        bounds := regexp_match(part.bound, '^FOR VALUES FROM \(''([^'']+)''\) TO \(''([^'']+)''\)$');
        CONTINUE WHEN bounds IS NULL OR bounds[2]::timestamptz > cutoff;
        part_name := part.rel::text;
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, part.rel);
        EXECUTE format('DROP TABLE %s', part.rel);
        RETURN NEXT part_name;
    END LOOP;
END;
$$;
