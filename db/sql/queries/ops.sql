-- Queries of the operations routes (/ready, /metrics).

-- migration_version --
-- The Alembic revision the database is at (NULL table means never migrated).
SELECT version_num FROM alembic_version;

-- queue_depth --
-- Requests by status; pending and processing use partial indexes.
SELECT 'pending' AS status, count(*) AS n FROM request_queue WHERE status = 'pending'
UNION ALL
SELECT 'processing', count(*) FROM request_queue WHERE status = 'processing';

-- oldest_pending_seconds --
SELECT coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float8 AS seconds
  FROM request_queue WHERE status = 'pending';

-- default_partition_rows --
-- Strays in default partitions: rows for a range nobody created a partition for, every
-- user's (the function counts them as their owner; the app role without a user's scope
-- would see none).
SELECT table_name, n FROM mukti_default_partition_rows_v1();

-- queue_pending_by_priority --
-- Pending requests per priority, from the counts the queue's triggers keep (no scan).
SELECT priority, sum(pending)::bigint AS n
  FROM request_queue_pending_counts
 GROUP BY priority
HAVING sum(pending) > 0
 ORDER BY priority;

-- retention_runs --
-- What the lifetime purges did, per table (written by mukti_purge_expired_v1).
SELECT table_name, total_deleted, extract(epoch FROM last_run_at)::float8 AS last_run FROM retention_runs;

-- unpriced_models --
-- Models the plans answer with that have no price in force: their calls are recorded
-- at cost 0 (start-up warning, /metrics mukti_unpriced_model).
SELECT DISTINCT p.model FROM plans p
 WHERE NOT EXISTS (SELECT 1 FROM model_prices mp WHERE mp.model = p.model AND mp.effective_from <= now())
 ORDER BY 1;

-- primary_wal_position --
-- Where the primary's WAL is now: what a standby must have replayed to be current.
SELECT pg_current_wal_lsn()::text;

-- replica_lag_seconds --
-- On the standby: 0 when it has replayed the primary's :position, else the age of the
-- last transaction it replayed (an idle primary's first new commit makes that age look
-- large for the moment it takes to replay it: the cautious side). NULL when the server is
-- not a standby or has replayed nothing yet: not usable as a replica.
SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_wal_lsn_diff(:position::text::pg_lsn, pg_last_wal_replay_lsn()) <= 0 THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END::float8;
