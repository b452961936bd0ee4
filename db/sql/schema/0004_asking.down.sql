DROP TABLE IF EXISTS request_queue_pending_counts;
DROP INDEX IF EXISTS request_queue_failed_idx;
