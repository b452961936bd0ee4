-- Queries of the worker process itself, run through Procrastinate's connector (jobs/connector.py).

-- worker_heartbeat --
-- The heartbeat, and whether this worker's row still exists (no row returned: another
-- worker's sweeper deleted it as stalled).
UPDATE procrastinate_workers SET last_heartbeat = now() WHERE id = :worker_id RETURNING id;
