-- Reverses 0009_analytics.up.sql and the versioned objects of migration 0009.
DROP MATERIALIZED VIEW IF EXISTS analytics.popular_resources_v1, analytics.technique_engagement_v1,
    analytics.active_users_v1;
DROP VIEW IF EXISTS analytics.queue_health_v1, analytics.model_costs_v1, analytics.usage_hourly_v1,
    analytics.monthly_billing_v1, analytics.daily_usage_v1;
DROP FUNCTION IF EXISTS mukti_refresh_matviews_v1();
DROP FUNCTION IF EXISTS mukti_rollup_usage_v1();
DROP FUNCTION IF EXISTS mukti_drop_expired_partitions_v1(regclass, interval);
DROP TABLE IF EXISTS analytics.usage_hourly, analytics.rollup_state;
