-- mukti_close_usage_days_v1(max_days)
-- Computes the finished UTC days not closed yet (at most max_days per call, oldest
-- first) from the raw events into analytics.daily_usage_closed, where they outlive the
-- 90-day expiry of the events; returns how many days it closed. The watermark is
-- analytics.rollup_state.closed_through (row 'daily_usage'); NULL until the first event.
-- A day is finished 10 minutes after it ended: events are stamped with the clock when
-- they are written and every transaction that writes one is bounded by the app role's
-- 60 s statement and idle-in-transaction timeouts, so none can still arrive for it.
-- SECURITY DEFINER: the worker runs as mukti_app, which cannot write analytics.
CREATE FUNCTION mukti_close_usage_days_v1(p_max_days integer DEFAULT 7)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_through date;
    v_last    date := ((now() - interval '10 minutes') AT TIME ZONE 'UTC')::date - 1;
    v_closed  integer := 0;
BEGIN
    SELECT s.closed_through INTO v_through
      FROM analytics.rollup_state s WHERE s.rollup = 'daily_usage' FOR UPDATE;
    IF v_through IS NULL THEN
        -- Once per database: where the events begin (a scan, while there are few).
        SELECT (min(e.occurred_at) AT TIME ZONE 'UTC')::date - 1 INTO v_through FROM public.usage_events e;
        IF v_through IS NULL THEN
            RETURN 0;
        END IF;
    END IF;
    WHILE v_through < v_last AND v_closed < p_max_days LOOP
        v_through := v_through + 1;
        INSERT INTO analytics.daily_usage_closed
        SELECT * FROM mukti_usage_day_rows_v1(v_through, v_through + 1);
        v_closed := v_closed + 1;
    END LOOP;
    UPDATE analytics.rollup_state
       SET closed_through = v_through, updated_at = now()
     WHERE rollup = 'daily_usage';
    RETURN v_closed;
END;
$$;
