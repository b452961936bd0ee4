-- Reverses 0001_foundation.up.sql: leaves no Mukti object behind.
DROP TABLE IF EXISTS
    audit_log, notifications, daily_usage_aggregates, usage_events, rate_limits,
    request_queue, shared_link_views, shared_links, archived_messages, recent_messages,
    conversations, votes, resources, technique_versions, techniques, billing_events,
    subscriptions, refresh_tokens, users, model_prices, plans
    CASCADE;
DROP SCHEMA IF EXISTS analytics CASCADE;
