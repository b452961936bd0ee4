ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_valid;
DELETE FROM usage_events WHERE event_type = 'follow_up';
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_valid CHECK (event_type IN (
    'question', 'answer', 'attempt_failed', 'failure', 'cancelled', 'limit_reached')) NOT VALID;
ALTER TABLE request_queue DROP COLUMN kind, DROP COLUMN target_seq;
ALTER TABLE subscriptions DROP COLUMN month_window_start, DROP COLUMN questions_this_month,
    DROP COLUMN tokens_this_month;
ALTER TABLE plans DROP COLUMN models, DROP COLUMN per_month, DROP COLUMN tokens_per_month;
ALTER TABLE conversations DROP COLUMN title_source, DROP COLUMN model, DROP COLUMN follow_up_at;
DROP TABLE message_feedback;
DROP TABLE message_versions;
