-- How many requests of priority p_priority wait behind the one queued at (p_queued_at,
-- p_id): the requests that committed while a submit ran, which its queue position must
-- not count. Counts every user's requests, so it runs with its owner's rights (SECURITY
-- DEFINER, migration 0017): under Row-Level Security the caller sees only their own.
-- It returns a number and nothing else.
CREATE FUNCTION mukti_pending_after_v1(p_priority integer, p_queued_at timestamptz, p_id uuid)
    RETURNS integer
    LANGUAGE sql
    STABLE
AS $$
    SELECT count(*)::integer FROM request_queue o
     WHERE o.status = 'pending' AND o.priority = p_priority AND (o.queued_at, o.id) > (p_queued_at, p_id);
$$;
