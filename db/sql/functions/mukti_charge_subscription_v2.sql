-- Add to a subscription's fixed-window counters (for display, billing and the monthly
-- limits): questions this hour, today and this month; tokens today and this month; cost
-- today. A window whose hour, UTC day or UTC month has passed starts again from zero
-- first. p_unblock clears blocked_until (a question was accepted). Negative amounts give
-- back what a cancelled question took. The caller holds the subscription's row lock.
-- v2: v1 plus the monthly counters (mukti_submit_question_v3 decides on them).
CREATE FUNCTION mukti_charge_subscription_v2(
    p_subscription_id uuid,
    p_now timestamptz,
    p_questions integer,
    p_tokens integer,
    p_cost numeric,
    p_unblock boolean
)
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_hour  timestamptz := date_trunc('hour', p_now, 'UTC');
    v_day   timestamptz := date_trunc('day', p_now, 'UTC');
    v_month timestamptz := date_trunc('month', p_now, 'UTC');
BEGIN
    UPDATE subscriptions s
       SET questions_this_hour  = greatest(CASE WHEN s.hour_window_start = v_hour THEN s.questions_this_hour ELSE 0 END
                                           + p_questions, 0),
           hour_window_start    = v_hour,
           questions_today      = greatest(CASE WHEN s.day_window_start = v_day THEN s.questions_today ELSE 0 END
                                           + p_questions, 0),
           tokens_today         = CASE WHEN s.day_window_start = v_day THEN s.tokens_today ELSE 0 END + p_tokens,
           cost_today           = CASE WHEN s.day_window_start = v_day THEN s.cost_today ELSE 0 END + p_cost,
           day_window_start     = v_day,
           questions_this_month = greatest(CASE WHEN s.month_window_start = v_month THEN s.questions_this_month
                                                ELSE 0 END + p_questions, 0),
           tokens_this_month    = CASE WHEN s.month_window_start = v_month THEN s.tokens_this_month ELSE 0 END
                                  + p_tokens,
           month_window_start   = v_month,
           blocked_until        = CASE WHEN p_unblock THEN NULL ELSE s.blocked_until END,
           updated_at           = p_now
     WHERE s.id = p_subscription_id;
END;
$$;
