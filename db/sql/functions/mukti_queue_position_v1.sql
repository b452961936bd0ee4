-- Where a request stands in the queue: 1 + the pending requests served before it, in
-- fetch order (priority first, then age: priority DESC, queued_at, id). NULL when the
-- request is not pending (it is being served, done, or unknown).
-- Exact, in one snapshot: the higher priorities from request_queue_pending_counts
-- (O(priorities), whatever the backlog), then a range scan of the partial index
-- request_queue_pending_order_idx over the older requests of the same priority.
CREATE FUNCTION mukti_queue_position_v1(p_request_id uuid)
    RETURNS integer
    LANGUAGE sql
    STABLE
AS $$
    SELECT (1
        + (SELECT coalesce(sum(c.pending), 0) FROM request_queue_pending_counts c WHERE c.priority > r.priority)
        + (SELECT count(*) FROM request_queue o
            WHERE o.status = 'pending' AND o.priority = r.priority
              AND (o.queued_at, o.id) < (r.queued_at, r.id)))::integer
      FROM request_queue r
     WHERE r.id = p_request_id AND r.status = 'pending';
$$;
