-- Add to a subscription's fixed-window counters (for display and billing): questions this
-- hour and today, tokens and cost today. A window whose hour or UTC day has passed starts
-- again from zero first. p_unblock clears blocked_until (a question was accepted).
-- The caller holds the subscription's row lock. The limits themselves are decided on the
-- sliding windows (mukti_question_hits_v1), not on these counters.
CREATE FUNCTION mukti_charge_subscription_v1(
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
    v_hour timestamptz := date_trunc('hour', p_now, 'UTC');
    v_day  timestamptz := date_trunc('day', p_now, 'UTC');
BEGIN
    UPDATE subscriptions s
       SET questions_this_hour = CASE WHEN s.hour_window_start = v_hour THEN s.questions_this_hour ELSE 0 END
                                 + p_questions,
           hour_window_start   = v_hour,
           questions_today     = CASE WHEN s.day_window_start = v_day THEN s.questions_today ELSE 0 END + p_questions,
           tokens_today        = CASE WHEN s.day_window_start = v_day THEN s.tokens_today ELSE 0 END + p_tokens,
           cost_today          = CASE WHEN s.day_window_start = v_day THEN s.cost_today ELSE 0 END + p_cost,
           day_window_start    = v_day,
           blocked_until       = CASE WHEN p_unblock THEN NULL ELSE s.blocked_until END,
           updated_at          = p_now
     WHERE s.id = p_subscription_id;
END;
$$;
