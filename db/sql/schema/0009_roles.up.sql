-- Database roles (docs/analytics.md, "Roles"). Roles belong to the whole server, which
-- many databases may share: they are created once, idempotently, NOLOGIN (a deployment
-- gives them LOGIN and a password, or makes its login roles members). Privileges are
-- granted per database, here.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['mukti_migrator', 'mukti_app', 'mukti_analyst'] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by the migration of another database
        END;
    END LOOP;
END;
$$;

-- Per-role session limits (they apply when a session logs in as the role itself).
ALTER ROLE mukti_app SET statement_timeout = '60s';
ALTER ROLE mukti_app SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE mukti_app SET lock_timeout = '10s';
ALTER ROLE mukti_analyst SET statement_timeout = '5min';
ALTER ROLE mukti_analyst SET idle_in_transaction_session_timeout = '10min';
ALTER ROLE mukti_analyst SET default_transaction_read_only = on;
ALTER ROLE mukti_migrator SET statement_timeout = '0';
ALTER ROLE mukti_migrator SET idle_in_transaction_session_timeout = '10min';
ALTER ROLE mukti_migrator SET lock_timeout = '10s';

-- The migrator creates (and so owns) the schema when migrations run as it.
GRANT USAGE, CREATE ON SCHEMA public, analytics TO mukti_migrator;

-- The app: DML, sequences and functions; no CREATE anywhere, no TRUNCATE, nothing it
-- could alter or drop (that needs ownership).
GRANT USAGE ON SCHEMA public TO mukti_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mukti_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mukti_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mukti_app;
-- It reads the migration version (/ready); only migrations write it.
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM mukti_app;
-- Objects that later migrations create (as the role running this one) get the same.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mukti_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO mukti_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO mukti_app;

-- Maintenance runs in the worker as the app, through SECURITY DEFINER functions that
-- only the app may call: partition DDL and REFRESH need the owner.
ALTER FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer)
    SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer),
    mukti_drop_expired_partitions_v1(regclass, interval), mukti_rollup_usage_v1(), mukti_refresh_matviews_v1()
    FROM PUBLIC;

-- The analyst: the analytics schema only. Its views run with their owner's rights, so
-- the analyst needs (and has) nothing on the tables behind them.
GRANT USAGE ON SCHEMA analytics TO mukti_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO mukti_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO mukti_analyst;
