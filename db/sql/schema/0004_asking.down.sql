DROP INDEX IF EXISTS request_queue_failed_idx;
