DROP TABLE IF EXISTS request_stream_chunks;
UPDATE request_queue SET status = 'failed', error = coalesce(error, 'cancelled') WHERE status = 'cancelled';
ALTER TABLE request_queue DROP CONSTRAINT request_queue_status_valid;
ALTER TABLE request_queue ADD CONSTRAINT request_queue_status_valid
    CHECK (status IN ('pending', 'processing', 'completed', 'failed'));
ALTER TABLE request_queue
    DROP COLUMN cancel_requested_at,
    DROP COLUMN stopped,
    DROP COLUMN usage_estimated,
    DROP COLUMN first_token_ms;
