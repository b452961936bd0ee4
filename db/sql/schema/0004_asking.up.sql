-- Asking: the admin queue overview counts failures of the last 24 hours.
CREATE INDEX request_queue_failed_idx ON request_queue (completed_at) WHERE status = 'failed';

-- Pending requests per priority, kept by triggers on request_queue in the same
-- transactions as the rows they count, so that a queue position costs O(priorities)
-- for the requests ahead in higher priorities instead of a scan of the whole backlog.
-- Split into slots (by backend) so that concurrent writers rarely wait on one row lock
-- until each other's commit; a slot may go negative, only the sum per priority means
-- anything.
CREATE TABLE request_queue_pending_counts (
    priority             integer NOT NULL,
    slot                 integer NOT NULL,
    pending              bigint NOT NULL,
    CONSTRAINT request_queue_pending_counts_pkey PRIMARY KEY (priority, slot)
);
