-- Part of the exact-cost triggers (see mukti_usage_event_fill_v1.sql).
-- mukti_daily_aggregate_cost_v1 (BEFORE INSERT OR UPDATE on daily_usage_aggregates):
-- the same for the durable aggregate. Cost is linear in tokens at one price, so the
-- exact cost of an increment follows from its token increments; it replaces the given
-- increment when that is the exact one rounded to 6 decimals.
CREATE FUNCTION mukti_daily_aggregate_cost_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_base  numeric := 0;
    v_given numeric := NEW.cost;
    v_exact numeric;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        v_base := OLD.cost;
        v_given := NEW.cost - OLD.cost;
        v_exact := mukti_model_cost_v1(nullif(NEW.model, ''), NEW.prompt_tokens - OLD.prompt_tokens,
                                       NEW.completion_tokens - OLD.completion_tokens, NEW.updated_at);
    ELSE
        v_exact := mukti_model_cost_v1(nullif(NEW.model, ''), NEW.prompt_tokens, NEW.completion_tokens,
                                       NEW.updated_at);
    END IF;
    IF v_exact IS NOT NULL AND v_given = round(v_exact, 6) THEN
        NEW.cost := v_base + v_exact;
    END IF;
    RETURN NEW;
END;
$$;
