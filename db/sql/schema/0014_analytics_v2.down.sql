-- Reverses 0014_analytics_v2.up.sql and the versioned objects of migration 0014. Events
-- of the new types stay; the restored type check applies to new rows (NOT VALID).
DROP TRIGGER IF EXISTS recent_messages_archive_partition ON recent_messages;
DROP TRIGGER IF EXISTS notifications_log_limit_reached ON notifications;
DROP TRIGGER IF EXISTS conversations_log_cancelled_requests ON conversations;
DROP TRIGGER IF EXISTS request_queue_log_failed_attempt ON request_queue;
DROP TRIGGER IF EXISTS daily_usage_aggregates_exact_cost ON daily_usage_aggregates;
DROP TRIGGER IF EXISTS usage_events_fill ON usage_events;
DROP MATERIALIZED VIEW IF EXISTS analytics.daily_usage_v2;
DROP FUNCTION IF EXISTS mukti_default_partition_periods_v1(), mukti_refresh_matviews_v2(), mukti_close_usage_days_v1(integer),
    mukti_usage_day_rows_v1(date, date), mukti_ensure_archive_partition_v1(), mukti_log_limit_reached_v1(),
    mukti_log_cancelled_requests_v1(), mukti_log_failed_attempt_v1(),
    mukti_log_outcome_v1(request_queue, text, uuid, text), mukti_error_class_v1(text),
    mukti_daily_aggregate_cost_v1(), mukti_usage_event_fill_v1(), mukti_model_cost_v1(text, bigint, bigint, timestamptz);
DROP TABLE IF EXISTS analytics.matview_refreshes, analytics.daily_usage_closed;
DELETE FROM analytics.rollup_state WHERE rollup = 'daily_usage';
ALTER TABLE analytics.rollup_state DROP COLUMN IF EXISTS closed_through;

DROP VIEW analytics.model_costs_v1, analytics.usage_hourly_v1, analytics.monthly_billing_v1,
    analytics.daily_usage_v1;
ALTER TABLE model_prices ALTER COLUMN prompt_per_1k TYPE numeric(12, 6), ALTER COLUMN completion_per_1k TYPE numeric(12, 6);
ALTER TABLE analytics.usage_hourly ALTER COLUMN cost TYPE numeric(18, 6);
ALTER TABLE daily_usage_aggregates ALTER COLUMN cost TYPE numeric(16, 6);
ALTER TABLE usage_events ALTER COLUMN cost TYPE numeric(14, 6);
ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_valid;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_valid
    CHECK (event_type IN ('question', 'answer', 'failure', 'limit_reached')) NOT VALID;
ALTER TABLE usage_events DROP COLUMN error_class, DROP COLUMN plan_id;
