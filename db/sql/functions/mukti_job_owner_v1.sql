-- The account a worker job is for: a job names only its request ('request') or webhook
-- delivery ('delivery'); the worker reads the owner first, then runs the job's
-- transactions as that user (Row-Level Security). NULL when the object is gone.
-- SECURITY DEFINER so that this one read needs no scope (one round trip per job, on
-- the answering hot path); it returns an id and nothing else.
CREATE FUNCTION mukti_job_owner_v1(p_kind text, p_id uuid)
    RETURNS uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT CASE p_kind
               WHEN 'request' THEN (SELECT user_id FROM request_queue WHERE id = p_id)
               WHEN 'delivery' THEN (SELECT user_id FROM webhook_deliveries WHERE id = p_id)
           END;
$$;
