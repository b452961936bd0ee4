-- Reverses 0013_privacy.up.sql in this database. The role mukti_service, its membership
-- in mukti_app and mukti_app's NOINHERIT stay: roles belong to the whole server, other
-- Mukti databases on it may be at 0013 (docs/privacy.md; 0009_roles.down.sql likewise).

ALTER FUNCTION mukti_queue_position_v1(uuid) SECURITY INVOKER RESET search_path;
ALTER FUNCTION mukti_cast_vote_v1(uuid, text, uuid, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION mukti_purge_rate_limits_v1(integer) SECURITY INVOKER RESET search_path;

-- Every policy and RLS flag on the tables of schema public (partitions included).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT p.polname, p.polrelid::regclass AS rel
               FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' LOOP
        EXECUTE format('DROP POLICY %I ON %s', r.polname, r.rel);
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relrowsecurity LOOP
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', r.rel);
    END LOOP;
END;
$$;

DROP FUNCTION mukti_job_owner_v1(text, uuid);
DROP FUNCTION mukti_erase_user_v1(uuid);
DROP FUNCTION mukti_protect_user_tables_v1();
DROP FUNCTION mukti_current_user_v1();

-- Every privilege and default privilege of the service role in this database.
DROP OWNED BY mukti_service;
