-- The triggers that keep request_queue_pending_counts (see mukti_count_pending_v1).
CREATE TRIGGER request_queue_count_pending_insert
    AFTER INSERT ON request_queue REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mukti_count_pending_v1();
CREATE TRIGGER request_queue_count_pending_update
    AFTER UPDATE ON request_queue REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mukti_count_pending_v1();
CREATE TRIGGER request_queue_count_pending_delete
    AFTER DELETE ON request_queue REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mukti_count_pending_v1();
CREATE TRIGGER request_queue_count_pending_truncate
    AFTER TRUNCATE ON request_queue
    FOR EACH STATEMENT EXECUTE FUNCTION mukti_count_pending_v1();

-- Rows that exist already (the migration may run on a live queue).
INSERT INTO request_queue_pending_counts (priority, slot, pending)
SELECT priority, 0, count(*) FROM request_queue WHERE status = 'pending' GROUP BY priority;
