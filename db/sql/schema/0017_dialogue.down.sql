ALTER TABLE request_queue DROP COLUMN kind, DROP COLUMN target_seq;
ALTER TABLE subscriptions DROP COLUMN month_window_start, DROP COLUMN questions_this_month,
    DROP COLUMN tokens_this_month;
ALTER TABLE plans DROP COLUMN models, DROP COLUMN per_month, DROP COLUMN tokens_per_month;
ALTER TABLE conversations DROP COLUMN title_source, DROP COLUMN model, DROP COLUMN follow_up_at;
DROP TABLE message_feedback;
DROP TABLE message_versions;
