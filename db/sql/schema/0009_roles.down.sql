-- Reverses 0009_roles.up.sql in this database. A role is dropped only when nothing in
-- any database of the server refers to it any more, no role is a member of it and it
-- cannot log in: other Mukti databases and a deployment's login roles keep it.

-- Every privilege and default privilege granted to the app and analyst roles here
-- (neither can create objects, so they own none).
DROP OWNED BY mukti_app, mukti_analyst;
-- The migrator may own the whole schema: revoke its grants one by one instead.
REVOKE ALL ON SCHEMA public, analytics FROM mukti_migrator;

ALTER FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer)
    SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer) TO PUBLIC;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT oid, rolname FROM pg_roles
              WHERE rolname IN ('mukti_analyst', 'mukti_app', 'mukti_migrator') AND NOT rolcanlogin LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_shdepend
                               WHERE refclassid = 'pg_authid'::regclass AND refobjid = r.oid);
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_auth_members WHERE roleid = r.oid OR member = r.oid);
        BEGIN
            EXECUTE format('DROP ROLE %I', r.rolname);
        EXCEPTION WHEN dependent_objects_still_exist OR object_in_use THEN
            NULL;  -- another database started using it meanwhile
        END;
    END LOOP;
END;
$$;
