-- Queries of the worker process itself (psycopg, through Procrastinate's connector).

-- worker_registered --
-- Whether this worker's row still exists: another worker's sweeper deletes the rows of
-- workers whose heartbeat is stale, e.g. after an outage longer than the stall timeout.
SELECT EXISTS (SELECT 1 FROM procrastinate_workers WHERE id = %(worker_id)s) AS registered;
