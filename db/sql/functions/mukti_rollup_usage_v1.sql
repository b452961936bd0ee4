-- mukti_rollup_usage_v1()
-- Folds the usage events added since the last run into analytics.usage_hourly and
-- returns how many it folded: work proportional to the new events, not to history.
--
-- The watermark is usage_events.id. Ids are handed out at INSERT time but transactions
-- commit in any order, so "every id up to the sequence's last value" is only safe once
-- the transactions that may still hold a lower id have ended. Every such transaction
-- holds ROW EXCLUSIVE on usage_events (taken before the id is drawn), so taking SHARE
-- on it waits exactly for them; the lock is released at once (the sub-block is rolled
-- back), so writers pause for no longer than the longest insert already in flight.
-- One run at a time (the state row is locked); running it twice folds nothing twice.
CREATE FUNCTION mukti_rollup_usage_v1()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    from_id   bigint;
    to_id     bigint;
    processed bigint;
BEGIN
    -- Under a repeatable-read snapshot the events the lock waited for would stay
    -- invisible and be skipped for good.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'mukti_rollup_usage_v1 needs READ COMMITTED' USING ERRCODE = '25000';
    END IF;

    SELECT last_event_id INTO STRICT from_id
      FROM analytics.rollup_state WHERE rollup = 'usage_hourly' FOR UPDATE;

    to_id := coalesce(pg_sequence_last_value(pg_get_serial_sequence('public.usage_events', 'id')::regclass), 0);
    IF to_id <= from_id THEN
        RETURN 0;
    END IF;

    BEGIN
        LOCK TABLE public.usage_events IN SHARE MODE;
        RAISE SQLSTATE 'MK001';  -- roll the sub-block back: releases the lock
    EXCEPTION WHEN SQLSTATE 'MK001' THEN
        NULL;
    END;

    WITH batch AS (
        -- date_bin: UTC hours by integer arithmetic, no time-zone conversion per row.
        SELECT date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00') AS hour,
               coalesce(model, '') AS model, technique_id, event_type, count(*) AS events,
               sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cost) AS cost,
               coalesce(sum(latency_ms), 0) AS total_latency_ms, count(latency_ms) AS latency_samples
          FROM public.usage_events
         WHERE id > from_id AND id <= to_id
         GROUP BY 1, 2, 3, 4
    ), folded AS (
        INSERT INTO analytics.usage_hourly AS h
               (hour, model, technique_id, event_type, events, prompt_tokens, completion_tokens, cost,
                total_latency_ms, latency_samples)
        SELECT * FROM batch
        ON CONFLICT ON CONSTRAINT analytics_usage_hourly_key DO UPDATE
           SET events            = h.events + excluded.events,
               prompt_tokens     = h.prompt_tokens + excluded.prompt_tokens,
               completion_tokens = h.completion_tokens + excluded.completion_tokens,
               cost              = h.cost + excluded.cost,
               total_latency_ms  = h.total_latency_ms + excluded.total_latency_ms,
               latency_samples   = h.latency_samples + excluded.latency_samples
    )
    SELECT coalesce(sum(events), 0) INTO processed FROM batch;

    UPDATE analytics.rollup_state
       SET last_event_id = to_id, events_processed = events_processed + processed, updated_at = now()
     WHERE rollup = 'usage_hourly';
    RETURN processed;
END;
$$;
