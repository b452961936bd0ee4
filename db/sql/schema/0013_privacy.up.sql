-- 0013 privacy: Row-Level Security on every table with a user_id, the role for paths
-- that act for no single user, and erasure (docs/privacy.md).

-- The service role: what the app becomes, for one transaction (SET LOCAL ROLE, done by
-- core/database/scope.py), on paths that act for no single user: sign-in and token
-- rotation (no user is known yet), shared links (an anonymous visitor), billing
-- webhooks, moderation, admin, the worker's cross-user bookkeeping. Policies TO
-- mukti_service admit every row. The app may take it (membership) but does not inherit
-- it (NOINHERIT): outside those transactions, the policies for mukti_service do not
-- apply to the app, and a query of the app sees only the rows of the user it set.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mukti_service') THEN
        BEGIN
            CREATE ROLE mukti_service NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by the migration of another database
        END;
    END IF;
    -- Roles are server-wide: only change what differs (concurrent migrations of other
    -- databases would otherwise update the same catalog rows).
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mukti_app' AND rolinherit) THEN
        ALTER ROLE mukti_app NOINHERIT;
    END IF;
    IF NOT pg_has_role('mukti_app', 'mukti_service', 'MEMBER') THEN
        GRANT mukti_service TO mukti_app;
    END IF;
END;
$$;

-- The same privileges as the app: DML, sequences, functions; nothing it could alter.
GRANT USAGE ON SCHEMA public TO mukti_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO mukti_service;
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM mukti_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO mukti_service;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO mukti_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO mukti_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO mukti_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO mukti_service;

-- RLS and the owner/service policies on every user_id table and partition.
SELECT mukti_protect_user_tables_v1();

-- Community tables: built-ins (no author) and approved items are everyone's to read;
-- writing stays the author's (owner_rows) or the moderators' (mukti_service).
CREATE POLICY community_read ON techniques FOR SELECT USING (user_id IS NULL OR status = 'approved');
CREATE POLICY community_read ON technique_versions FOR SELECT USING (user_id IS NULL OR status = 'approved');
CREATE POLICY community_read ON resources FOR SELECT USING (user_id IS NULL OR status = 'approved');
-- Throttle rows keyed by a hashed email or address belong to nobody (sign-in, share passwords).
CREATE POLICY unowned_rows ON rate_limits USING (user_id IS NULL) WITH CHECK (user_id IS NULL);

-- Functions that must see past the caller's rows, with their reasons:
-- a queue position counts the pending requests of everyone ahead (it returns a number);
ALTER FUNCTION mukti_queue_position_v1(uuid) SECURITY DEFINER SET search_path = public, pg_temp;
-- a vote updates the counters of someone else's technique or resource;
ALTER FUNCTION mukti_cast_vote_v1(uuid, text, uuid, integer) SECURITY DEFINER SET search_path = public, pg_temp;
-- maintenance purges expired throttle rows of every user.
ALTER FUNCTION mukti_purge_rate_limits_v1(integer) SECURITY DEFINER SET search_path = public, pg_temp;

-- The SECURITY DEFINER functions of this migration: for the app (and its service role) only.
REVOKE EXECUTE ON FUNCTION mukti_protect_user_tables_v1(), mukti_erase_user_v1(uuid), mukti_job_owner_v1(text, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mukti_protect_user_tables_v1(), mukti_erase_user_v1(uuid), mukti_job_owner_v1(text, uuid)
    TO mukti_app, mukti_service;
