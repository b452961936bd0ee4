-- The analysts' reference: a COMMENT on every relation and column of the analytics
-- schema. docs/analytics.md's reference section is generated from these
-- (`uv run python -m db.analytics_docs`), and a test checks the two agree.

COMMENT ON VIEW analytics.daily_usage_v1 IS 'Answered questions per user, UTC day, model and technique, from the durable daily aggregate: exact and current (no refresh), kept after raw events expire.';
COMMENT ON COLUMN analytics.daily_usage_v1.day IS 'UTC day.';
COMMENT ON COLUMN analytics.daily_usage_v1.user_id IS 'The user (opaque id).';
COMMENT ON COLUMN analytics.daily_usage_v1.model IS 'LLM model that answered; NULL when none was recorded.';
COMMENT ON COLUMN analytics.daily_usage_v1.technique_id IS 'Technique of the conversation; NULL for none.';
COMMENT ON COLUMN analytics.daily_usage_v1.technique_name IS 'Current name of the technique.';
COMMENT ON COLUMN analytics.daily_usage_v1.questions IS 'Questions answered.';
COMMENT ON COLUMN analytics.daily_usage_v1.prompt_tokens IS 'Prompt tokens of the answers.';
COMMENT ON COLUMN analytics.daily_usage_v1.completion_tokens IS 'Completion tokens of the answers.';
COMMENT ON COLUMN analytics.daily_usage_v1.total_tokens IS 'prompt_tokens + completion_tokens.';
COMMENT ON COLUMN analytics.daily_usage_v1.cost IS 'Cost of the answers at the model prices then in force, exact (unrounded numeric).';
COMMENT ON COLUMN analytics.daily_usage_v1.avg_latency_ms IS 'Mean LLM latency of the answers, milliseconds.';

COMMENT ON VIEW analytics.monthly_billing_v1 IS 'Usage per calendar month (UTC) and user, from the durable daily aggregate: old months stay correct after their events expired.';
COMMENT ON COLUMN analytics.monthly_billing_v1.month IS 'First day of the UTC month.';
COMMENT ON COLUMN analytics.monthly_billing_v1.user_id IS 'The user (opaque id).';
COMMENT ON COLUMN analytics.monthly_billing_v1.current_plan_id IS 'The plan the user is on now (plan history is not here).';
COMMENT ON COLUMN analytics.monthly_billing_v1.questions IS 'Questions answered in the month.';
COMMENT ON COLUMN analytics.monthly_billing_v1.prompt_tokens IS 'Prompt tokens in the month.';
COMMENT ON COLUMN analytics.monthly_billing_v1.completion_tokens IS 'Completion tokens in the month.';
COMMENT ON COLUMN analytics.monthly_billing_v1.cost IS 'Cost in the month, exact.';
COMMENT ON COLUMN analytics.monthly_billing_v1.active_days IS 'UTC days of the month with at least one answer.';

COMMENT ON VIEW analytics.usage_hourly_v1 IS 'Usage events per UTC hour, model, technique and event type, from the incremental rollup (current as of analytics.rollup_state, row usage_hourly; every minute); kept after events expire.';
COMMENT ON COLUMN analytics.usage_hourly_v1.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN analytics.usage_hourly_v1.model IS 'LLM model; NULL when the event named none.';
COMMENT ON COLUMN analytics.usage_hourly_v1.technique_id IS 'Technique of the conversation; NULL for none.';
COMMENT ON COLUMN analytics.usage_hourly_v1.event_type IS 'question (answered), attempt_failed (an attempt failed, retried), failure (failed for good), cancelled (withdrawn unanswered), limit_reached (the answer used up the allowance), answer (unused).';
COMMENT ON COLUMN analytics.usage_hourly_v1.events IS 'Number of events.';
COMMENT ON COLUMN analytics.usage_hourly_v1.prompt_tokens IS 'Prompt tokens of the events.';
COMMENT ON COLUMN analytics.usage_hourly_v1.completion_tokens IS 'Completion tokens of the events.';
COMMENT ON COLUMN analytics.usage_hourly_v1.cost IS 'Cost of the events, exact.';
COMMENT ON COLUMN analytics.usage_hourly_v1.avg_latency_ms IS 'Mean latency of the events that recorded one, milliseconds.';

COMMENT ON VIEW analytics.model_costs_v1 IS 'Per UTC day and model: events by outcome, tokens, cost, price per 1,000 tokens and mean latency, from the incremental rollup.';
COMMENT ON COLUMN analytics.model_costs_v1.day IS 'UTC day.';
COMMENT ON COLUMN analytics.model_costs_v1.model IS 'LLM model; NULL when the event named none.';
COMMENT ON COLUMN analytics.model_costs_v1.events IS 'All usage events.';
COMMENT ON COLUMN analytics.model_costs_v1.questions IS 'Questions answered.';
COMMENT ON COLUMN analytics.model_costs_v1.answers IS 'Events of type answer (unused, 0).';
COMMENT ON COLUMN analytics.model_costs_v1.failures IS 'Requests that failed for good.';
COMMENT ON COLUMN analytics.model_costs_v1.limits_reached IS 'Answers that used up a user''s allowance.';
COMMENT ON COLUMN analytics.model_costs_v1.prompt_tokens IS 'Prompt tokens.';
COMMENT ON COLUMN analytics.model_costs_v1.completion_tokens IS 'Completion tokens.';
COMMENT ON COLUMN analytics.model_costs_v1.cost IS 'Cost, exact.';
COMMENT ON COLUMN analytics.model_costs_v1.cost_per_1k_tokens IS 'cost per 1,000 tokens, rounded to 6 decimals.';
COMMENT ON COLUMN analytics.model_costs_v1.avg_latency_ms IS 'Mean latency of the events that recorded one, milliseconds.';

COMMENT ON VIEW analytics.queue_health_v1 IS 'Requests per UTC hour of queueing and priority: how they ended and how long they waited. Live over the request queue; filter on hour.';
COMMENT ON COLUMN analytics.queue_health_v1.hour IS 'Start of the UTC hour the requests were queued in.';
COMMENT ON COLUMN analytics.queue_health_v1.priority IS 'Queue priority (from the plan; higher goes first).';
COMMENT ON COLUMN analytics.queue_health_v1.requests IS 'Requests queued.';
COMMENT ON COLUMN analytics.queue_health_v1.started IS 'Requests an attempt started on.';
COMMENT ON COLUMN analytics.queue_health_v1.completed IS 'Requests answered.';
COMMENT ON COLUMN analytics.queue_health_v1.failed IS 'Requests failed for good.';
COMMENT ON COLUMN analytics.queue_health_v1.in_flight IS 'Requests pending or processing now.';
COMMENT ON COLUMN analytics.queue_health_v1.wait_p50_seconds IS 'Median wait from queued to (latest) start, seconds.';
COMMENT ON COLUMN analytics.queue_health_v1.wait_p90_seconds IS '90th percentile wait, seconds.';
COMMENT ON COLUMN analytics.queue_health_v1.wait_p99_seconds IS '99th percentile wait, seconds.';
COMMENT ON COLUMN analytics.queue_health_v1.wait_max_seconds IS 'Longest wait, seconds.';
COMMENT ON COLUMN analytics.queue_health_v1.avg_service_seconds IS 'Mean time from (latest) start to completion, seconds.';

COMMENT ON MATERIALIZED VIEW analytics.daily_usage_v2 IS 'Every outcome of a question per UTC day, plan, model and technique, with distinct users and latency percentiles. Materialized (refreshed every 15 minutes, see analytics.matview_refreshes); finished days come from analytics.daily_usage_closed and stay after raw events expire.';
COMMENT ON COLUMN analytics.daily_usage_v2.day IS 'UTC day.';
COMMENT ON COLUMN analytics.daily_usage_v2.plan_id IS 'Plan the question was asked under; NULL when unknown.';
COMMENT ON COLUMN analytics.daily_usage_v2.model IS 'LLM model of the request; NULL when unknown.';
COMMENT ON COLUMN analytics.daily_usage_v2.technique_id IS 'Technique of the conversation; NULL for none.';
COMMENT ON COLUMN analytics.daily_usage_v2.technique_name IS 'Name of the technique at the last refresh.';
COMMENT ON COLUMN analytics.daily_usage_v2.questions IS 'Questions that ended this day: answered + failed + cancelled.';
COMMENT ON COLUMN analytics.daily_usage_v2.answered IS 'Questions answered.';
COMMENT ON COLUMN analytics.daily_usage_v2.failed_attempts IS 'LLM attempts that failed (retried or not).';
COMMENT ON COLUMN analytics.daily_usage_v2.failed IS 'Questions that failed for good.';
COMMENT ON COLUMN analytics.daily_usage_v2.cancelled IS 'Questions withdrawn unanswered (conversation deleted).';
COMMENT ON COLUMN analytics.daily_usage_v2.limits_reached IS 'Answers that used up the user''s hourly or daily allowance.';
COMMENT ON COLUMN analytics.daily_usage_v2.users IS 'Distinct users with any of these events.';
COMMENT ON COLUMN analytics.daily_usage_v2.prompt_tokens IS 'Prompt tokens of the answers.';
COMMENT ON COLUMN analytics.daily_usage_v2.completion_tokens IS 'Completion tokens of the answers.';
COMMENT ON COLUMN analytics.daily_usage_v2.total_tokens IS 'prompt_tokens + completion_tokens.';
COMMENT ON COLUMN analytics.daily_usage_v2.cost IS 'Cost of the answers, exact (unrounded numeric); 0 for a model without a price.';
COMMENT ON COLUMN analytics.daily_usage_v2.latency_p50_ms IS 'Median LLM latency of the answers, milliseconds (interpolated).';
COMMENT ON COLUMN analytics.daily_usage_v2.latency_p90_ms IS '90th percentile latency of the answers, milliseconds.';
COMMENT ON COLUMN analytics.daily_usage_v2.latency_p99_ms IS '99th percentile latency of the answers, milliseconds.';

COMMENT ON MATERIALIZED VIEW analytics.active_users_v1 IS 'Daily, weekly and monthly active users (asked at least one answered question), per UTC day since the first usage. Materialized.';
COMMENT ON COLUMN analytics.active_users_v1.day IS 'UTC day.';
COMMENT ON COLUMN analytics.active_users_v1.dau IS 'Users active that day.';
COMMENT ON COLUMN analytics.active_users_v1.wau IS 'Users active in the 7 days ending that day.';
COMMENT ON COLUMN analytics.active_users_v1.mau IS 'Users active in the 30 days ending that day.';

COMMENT ON MATERIALIZED VIEW analytics.technique_engagement_v1 IS 'Per technique (not deleted): use and ratings. Materialized.';
COMMENT ON COLUMN analytics.technique_engagement_v1.technique_id IS 'The technique.';
COMMENT ON COLUMN analytics.technique_engagement_v1.name IS 'Its name.';
COMMENT ON COLUMN analytics.technique_engagement_v1.status IS 'Moderation status (approved, pending, rejected, ...).';
COMMENT ON COLUMN analytics.technique_engagement_v1.is_builtin IS 'Shipped with Mukti.';
COMMENT ON COLUMN analytics.technique_engagement_v1.created_at IS 'When it was created.';
COMMENT ON COLUMN analytics.technique_engagement_v1.conversations IS 'Conversations using it.';
COMMENT ON COLUMN analytics.technique_engagement_v1.users IS 'Distinct users of it.';
COMMENT ON COLUMN analytics.technique_engagement_v1.avg_messages_per_conversation IS 'Mean messages per conversation.';
COMMENT ON COLUMN analytics.technique_engagement_v1.median_messages_per_conversation IS 'Median messages per conversation.';
COMMENT ON COLUMN analytics.technique_engagement_v1.returning_users IS 'Users whose conversations with it span more than one UTC day.';
COMMENT ON COLUMN analytics.technique_engagement_v1.return_rate IS 'returning_users / users.';
COMMENT ON COLUMN analytics.technique_engagement_v1.upvotes IS 'Up votes.';
COMMENT ON COLUMN analytics.technique_engagement_v1.downvotes IS 'Down votes.';
COMMENT ON COLUMN analytics.technique_engagement_v1.net_votes IS 'upvotes - downvotes.';
COMMENT ON COLUMN analytics.technique_engagement_v1.score IS 'Wilson lower bound of the up-vote share.';

COMMENT ON MATERIALIZED VIEW analytics.popular_resources_v1 IS 'Approved resources ranked by vote score, with the votes of the last 30 days. Materialized.';
COMMENT ON COLUMN analytics.popular_resources_v1.rank IS 'Rank by score, then up votes.';
COMMENT ON COLUMN analytics.popular_resources_v1.resource_id IS 'The resource.';
COMMENT ON COLUMN analytics.popular_resources_v1.title IS 'Its title.';
COMMENT ON COLUMN analytics.popular_resources_v1.url IS 'Its URL.';
COMMENT ON COLUMN analytics.popular_resources_v1.kind IS 'Its kind (article, video, ...).';
COMMENT ON COLUMN analytics.popular_resources_v1.created_at IS 'When it was added.';
COMMENT ON COLUMN analytics.popular_resources_v1.upvotes IS 'Up votes.';
COMMENT ON COLUMN analytics.popular_resources_v1.downvotes IS 'Down votes.';
COMMENT ON COLUMN analytics.popular_resources_v1.net_votes IS 'upvotes - downvotes.';
COMMENT ON COLUMN analytics.popular_resources_v1.score IS 'Wilson lower bound of the up-vote share.';
COMMENT ON COLUMN analytics.popular_resources_v1.votes_30d IS 'Votes cast or changed in the last 30 days.';
COMMENT ON COLUMN analytics.popular_resources_v1.net_votes_30d IS 'Their sum (+1 up, -1 down).';

COMMENT ON TABLE analytics.rollup_state IS 'Watermarks of the incremental analytics: how current usage_hourly and the closed days of daily_usage_v2 are.';
COMMENT ON COLUMN analytics.rollup_state.rollup IS 'usage_hourly or daily_usage.';
COMMENT ON COLUMN analytics.rollup_state.last_event_id IS 'usage_hourly: highest usage event id folded in.';
COMMENT ON COLUMN analytics.rollup_state.events_processed IS 'usage_hourly: events folded in so far.';
COMMENT ON COLUMN analytics.rollup_state.updated_at IS 'Last run that changed the row.';
COMMENT ON COLUMN analytics.rollup_state.closed_through IS 'daily_usage: last UTC day closed into daily_usage_closed (NULL before the first event).';

COMMENT ON TABLE analytics.usage_hourly IS 'The incremental rollup behind usage_hourly_v1 and model_costs_v1 ('''' = no model).';
COMMENT ON COLUMN analytics.usage_hourly.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN analytics.usage_hourly.model IS 'LLM model; '''' when none.';
COMMENT ON COLUMN analytics.usage_hourly.technique_id IS 'Technique; NULL for none.';
COMMENT ON COLUMN analytics.usage_hourly.event_type IS 'Event type (see usage_hourly_v1.event_type).';
COMMENT ON COLUMN analytics.usage_hourly.events IS 'Number of events.';
COMMENT ON COLUMN analytics.usage_hourly.prompt_tokens IS 'Prompt tokens.';
COMMENT ON COLUMN analytics.usage_hourly.completion_tokens IS 'Completion tokens.';
COMMENT ON COLUMN analytics.usage_hourly.cost IS 'Cost, exact.';
COMMENT ON COLUMN analytics.usage_hourly.total_latency_ms IS 'Sum of recorded latencies, milliseconds.';
COMMENT ON COLUMN analytics.usage_hourly.latency_samples IS 'Events that recorded a latency.';

COMMENT ON TABLE analytics.daily_usage_closed IS 'Finished days of daily_usage_v2, computed once from the raw events ('''' = none in plan_id and model); outlives their expiry.';
COMMENT ON COLUMN analytics.daily_usage_closed.day IS 'UTC day.';
COMMENT ON COLUMN analytics.daily_usage_closed.plan_id IS 'Plan; '''' when unknown.';
COMMENT ON COLUMN analytics.daily_usage_closed.model IS 'Model; '''' when unknown.';
COMMENT ON COLUMN analytics.daily_usage_closed.technique_id IS 'Technique; NULL for none.';
COMMENT ON COLUMN analytics.daily_usage_closed.answered IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.failed_attempts IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.failed IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.cancelled IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.limits_reached IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.users IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.prompt_tokens IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.completion_tokens IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.cost IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.latency_p50_ms IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.latency_p90_ms IS 'As in daily_usage_v2.';
COMMENT ON COLUMN analytics.daily_usage_closed.latency_p99_ms IS 'As in daily_usage_v2.';

COMMENT ON TABLE analytics.matview_refreshes IS 'When each materialized view of analytics was last refreshed: its data is as of refreshed_at.';
COMMENT ON COLUMN analytics.matview_refreshes.matview IS 'Name of the materialized view (in analytics).';
COMMENT ON COLUMN analytics.matview_refreshes.refreshed_at IS 'Start of its last refresh.';
COMMENT ON COLUMN analytics.matview_refreshes.duration_ms IS 'How long that refresh took, milliseconds.';
