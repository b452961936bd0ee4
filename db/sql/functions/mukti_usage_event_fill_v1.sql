-- Triggers that keep cost exact and events complete without rewriting the lifecycle
-- functions (mukti_complete_request_v1 rounds each call's cost to 6 decimals: a
-- 1.35e-5 call became 0.000014, and the error added up over millions of calls).
--
-- mukti_usage_event_fill_v1 (BEFORE INSERT on usage_events): the plan the event was
-- asked under (the request's, else the user's current plan), and the exact cost when
-- the given one is that cost rounded to 6 decimals. A cost given otherwise is kept.
CREATE FUNCTION mukti_usage_event_fill_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_exact numeric;
BEGIN
    IF NEW.plan_id IS NULL THEN
        NEW.plan_id := coalesce((SELECT q.plan_id FROM public.request_queue q WHERE q.id = NEW.request_id),
                                (SELECT s.plan_id FROM public.subscriptions s WHERE s.user_id = NEW.user_id));
    END IF;
    v_exact := mukti_model_cost_v1(NEW.model, NEW.prompt_tokens, NEW.completion_tokens, NEW.occurred_at);
    IF v_exact IS NOT NULL AND NEW.cost = round(v_exact, 6) THEN
        NEW.cost := v_exact;
    END IF;
    RETURN NEW;
END;
$$;
