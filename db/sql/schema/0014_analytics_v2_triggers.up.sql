-- Triggers of migration 0014 (after their functions): exact cost, every outcome an
-- event, archive partitions on demand. See the functions' files for why each exists.
CREATE TRIGGER usage_events_fill BEFORE INSERT ON usage_events
    FOR EACH ROW EXECUTE FUNCTION mukti_usage_event_fill_v1();
CREATE TRIGGER daily_usage_aggregates_exact_cost BEFORE INSERT OR UPDATE ON daily_usage_aggregates
    FOR EACH ROW EXECUTE FUNCTION mukti_daily_aggregate_cost_v1();
CREATE TRIGGER request_queue_log_failed_attempt AFTER UPDATE OF error ON request_queue
    FOR EACH ROW WHEN (NEW.error IS NOT NULL) EXECUTE FUNCTION mukti_log_failed_attempt_v1();
CREATE TRIGGER conversations_log_cancelled_requests BEFORE DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION mukti_log_cancelled_requests_v1();
CREATE TRIGGER notifications_log_limit_reached AFTER INSERT ON notifications
    FOR EACH ROW WHEN (NEW.kind IN ('hourly_limit_reached', 'daily_limit_reached'))
    EXECUTE FUNCTION mukti_log_limit_reached_v1();
CREATE TRIGGER recent_messages_archive_partition AFTER INSERT OR UPDATE OF created_at ON recent_messages
    FOR EACH ROW EXECUTE FUNCTION mukti_ensure_archive_partition_v1();
