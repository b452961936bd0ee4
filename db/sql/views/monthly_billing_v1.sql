-- analytics.monthly_billing_v1: what each user used in each calendar month (UTC), from
-- the durable daily aggregate, so old months stay correct after their events expired.
-- current_plan_id is the plan the user is on now (plan history is in billing_events).
CREATE VIEW analytics.monthly_billing_v1 AS
SELECT date_trunc('month', a.day)::date AS month,
       a.user_id,
       s.plan_id AS current_plan_id,
       sum(a.questions)::bigint AS questions,
       sum(a.prompt_tokens)::bigint AS prompt_tokens,
       sum(a.completion_tokens)::bigint AS completion_tokens,
       sum(a.cost) AS cost,
       count(DISTINCT a.day) AS active_days
  FROM public.daily_usage_aggregates a
  LEFT JOIN public.subscriptions s ON s.user_id = a.user_id
 GROUP BY 1, 2, 3;
