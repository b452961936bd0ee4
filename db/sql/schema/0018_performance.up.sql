-- 0018 performance: no per-row NOTIFY for questions. Procrastinate's trigger notifies for
-- every job inserted, and Postgres serialises notifying commits; the API now wakes the
-- workers with at most one NOTIFY per few milliseconds (core/database/wake.py) and the
-- workers' polling finds any job whose wake-up was lost. Other queues keep the trigger.
-- Recreating a trigger only takes a brief lock on procrastinate_jobs (no rewrite).
DROP TRIGGER procrastinate_jobs_notify_queue_job_inserted_v1 ON procrastinate_jobs;
CREATE TRIGGER procrastinate_jobs_notify_queue_job_inserted_v1
    AFTER INSERT ON procrastinate_jobs
    FOR EACH ROW WHEN (new.status = 'todo'::procrastinate_job_status AND new.queue_name <> 'questions')
    EXECUTE PROCEDURE procrastinate_notify_queue_job_inserted_v1();
