-- Where a request stands in the queue: 1 + the pending requests served before it, in
-- fetch order (priority first, then age: priority DESC, queued_at, id). NULL when the
-- request is not pending (it is being served, done, or unknown).
-- Two range scans of the partial index request_queue_pending_order_idx: the higher
-- priorities, then the older requests of the same priority.
CREATE FUNCTION mukti_queue_position_v1(p_request_id uuid)
    RETURNS integer
    LANGUAGE plpgsql
    STABLE
AS $$
DECLARE
    v_priority  integer;
    v_queued_at timestamptz;
BEGIN
    SELECT r.priority, r.queued_at INTO v_priority, v_queued_at
      FROM request_queue r
     WHERE r.id = p_request_id AND r.status = 'pending';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN 1
        + (SELECT count(*) FROM request_queue o
            WHERE o.status = 'pending' AND o.priority > v_priority)
        + (SELECT count(*) FROM request_queue o
            WHERE o.status = 'pending' AND o.priority = v_priority
              AND (o.queued_at, o.id) < (v_queued_at, p_request_id));
END;
$$;
