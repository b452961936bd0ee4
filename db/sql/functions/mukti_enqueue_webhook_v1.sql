-- Queue a signed webhook to the user's webhook_url: the delivery row and its job
-- ('deliver_webhook' on queue 'webhooks') in the caller's transaction, so an event
-- is delivered exactly when the change it reports commits. NULL when the user has
-- no webhook_url (or is not active).
CREATE FUNCTION mukti_enqueue_webhook_v1(p_user_id uuid, p_event text, p_data jsonb)
    RETURNS uuid
    LANGUAGE plpgsql
AS $$
DECLARE
    v_url text;
    v_id  uuid := gen_random_uuid();
BEGIN
    SELECT u.webhook_url INTO v_url FROM users u WHERE u.id = p_user_id AND u.status = 'active';
    IF v_url IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (id, user_id, event, url, payload)
    VALUES (v_id, p_user_id, p_event, v_url, jsonb_build_object(
        'id', v_id,
        'event', p_event,
        'created_at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', p_data));
    PERFORM procrastinate_defer_jobs_v1(ARRAY[ROW(
        'webhooks', 'deliver_webhook', 0, NULL, NULL, jsonb_build_object('delivery_id', v_id::text), NULL
    )::procrastinate_job_to_defer_v1]);
    RETURN v_id;
END;
$$;
