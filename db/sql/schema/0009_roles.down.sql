-- Reverses 0009_roles.up.sql in this database. The roles themselves are left in place:
-- roles belong to the whole server, other Mukti databases on it may use them, and
-- dropping one while another database's migration is granting to it would fail that
-- migration. After the last Mukti database is gone: DROP ROLE mukti_app, mukti_analyst,
-- mukti_migrator (docs/analytics.md).

-- Every privilege and default privilege granted to the app and analyst roles here
-- (neither can create objects, so they own none).
DROP OWNED BY mukti_app, mukti_analyst;
-- The migrator may own the whole schema: revoke its grants one by one instead.
REVOKE ALL ON SCHEMA public, analytics FROM mukti_migrator;

ALTER FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer)
    SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION mukti_ensure_partitions_v1(regclass, text, timestamptz, integer) TO PUBLIC;
