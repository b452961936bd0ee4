-- mukti_model_cost_v1(model, prompt_tokens, completion_tokens, at)
-- What a call costs at the price of `model` in force at `at`, exactly (numeric, no
-- rounding: a sum over millions of cheap calls is the exact sum). NULL when the model
-- has no price then (an unpriced model: start-up warning and /metrics report it).
CREATE FUNCTION mukti_model_cost_v1(p_model text, p_prompt_tokens bigint, p_completion_tokens bigint,
                                    p_at timestamptz)
RETURNS numeric
LANGUAGE sql
STABLE
AS $$
    SELECT trim_scale(p_prompt_tokens * mp.prompt_per_1k / 1000 + p_completion_tokens * mp.completion_per_1k / 1000)
      FROM public.model_prices mp
     WHERE mp.model = p_model AND mp.effective_from <= p_at
     ORDER BY mp.effective_from DESC
     LIMIT 1
$$;
