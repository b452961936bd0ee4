-- Keeps request_queue_pending_counts equal to the pending rows of request_queue, per
-- priority. Statement-level with transition tables: one upsert per statement, whatever
-- its row count, and the counter rows are locked in priority order (no deadlock between
-- two statements that touch several priorities). TRUNCATE empties the counts too.
-- v2: v1, counting in the slot a transaction names in `mukti.pending_slot` when it names
-- one. The API's accept batches (mukti_submit_questions_v1) hold several users' locks in
-- one transaction: they count in slots of their own (64-127), taken before any user's
-- rows, so that neither another batch nor a single call can hold a batch's slot row while
-- waiting for a user the batch holds. Everything else counts in slot pid % 64, as in v1.
-- A copy of v1's body, not a wrapper: a trigger's transition tables are visible only to
-- the function the trigger runs, not to one it calls.
CREATE FUNCTION mukti_count_pending_v2()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    v_slot integer := coalesce(nullif(current_setting('mukti.pending_slot', true), '')::integer,
                               pg_backend_pid() % 64);
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM request_queue_pending_counts;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO request_queue_pending_counts AS c (priority, slot, pending)
        SELECT n.priority, v_slot, count(*) FROM new_rows n WHERE n.status = 'pending'
         GROUP BY n.priority ORDER BY n.priority
        ON CONFLICT ON CONSTRAINT request_queue_pending_counts_pkey
        DO UPDATE SET pending = c.pending + excluded.pending;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO request_queue_pending_counts AS c (priority, slot, pending)
        SELECT o.priority, v_slot, -count(*) FROM old_rows o WHERE o.status = 'pending'
         GROUP BY o.priority ORDER BY o.priority
        ON CONFLICT ON CONSTRAINT request_queue_pending_counts_pkey
        DO UPDATE SET pending = c.pending + excluded.pending;
    ELSE
        INSERT INTO request_queue_pending_counts AS c (priority, slot, pending)
        SELECT d.priority, v_slot, sum(d.delta) FROM (
            SELECT n.priority, 1 AS delta FROM new_rows n WHERE n.status = 'pending'
            UNION ALL
            SELECT o.priority, -1 FROM old_rows o WHERE o.status = 'pending') AS d
         GROUP BY d.priority HAVING sum(d.delta) <> 0 ORDER BY d.priority
        ON CONFLICT ON CONSTRAINT request_queue_pending_counts_pkey
        DO UPDATE SET pending = c.pending + excluded.pending;
    END IF;
    RETURN NULL;
END;
$$;
