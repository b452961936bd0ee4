-- Asking: the admin queue overview counts failures of the last 24 hours.
CREATE INDEX request_queue_failed_idx ON request_queue (completed_at) WHERE status = 'failed';
