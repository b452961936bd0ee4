-- Queries of the worker process itself (psycopg, through Procrastinate's connector).

-- worker_heartbeat --
-- The heartbeat, and whether this worker's row still exists (no row returned: another
-- worker's sweeper deleted it as stalled).
UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = %(worker_id)s RETURNING id;
