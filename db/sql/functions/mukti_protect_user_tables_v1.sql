-- Row-Level Security on every table of schema public that has a user_id column, found
-- in the catalog (so a new table, or a partition created later, is covered by calling
-- this again): RLS enabled, and two policies where missing:
--   owner_rows   (everyone)      the rows of the transaction's user, mukti_current_user_v1();
--   service_all  (mukti_service) every row: the explicit role for paths that act for
--                                no single user (docs/privacy.md).
-- No FORCE: the owner (the migrator) stays exempt, which is what the SECURITY DEFINER
-- maintenance functions and the analytics views rely on.
-- Returns the number of tables on which RLS was newly enabled.
-- SECURITY DEFINER because ALTER TABLE and CREATE POLICY need the owner, and the
-- maintenance job (running as the app) calls it after creating partitions.
CREATE FUNCTION mukti_protect_user_tables_v1()
    RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    r record;
    v_enabled integer := 0;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relrowsecurity
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         ORDER BY c.oid
    LOOP
        IF NOT r.relrowsecurity THEN
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.rel);
            v_enabled := v_enabled + 1;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = r.rel AND polname = 'owner_rows') THEN
            EXECUTE format('CREATE POLICY owner_rows ON %s USING (user_id = mukti_current_user_v1()) '
                           'WITH CHECK (user_id = mukti_current_user_v1())', r.rel);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = r.rel AND polname = 'service_all') THEN
            EXECUTE format('CREATE POLICY service_all ON %s TO mukti_service USING (true) WITH CHECK (true)', r.rel);
        END IF;
    END LOOP;
    RETURN v_enabled;
END;
$$;
