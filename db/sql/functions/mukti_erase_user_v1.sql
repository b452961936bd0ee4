-- Erase an account (DELETE /me), in one transaction: what the person wrote goes, the
-- anonymous aggregates billing needs stay (docs/privacy.md).
--   * the users row is anonymized (email freed, no name, password, preferences, webhook);
--   * approved community techniques and resources stay, authorless (user_id NULL), at
--     their approved version: pending edits and rejected versions go with the account;
--   * votes go, and the counters of their targets follow (votes = counters, always);
--   * billing events keep their id, type and plan (replays stay idempotent), not the
--     provider's payload, which can name the person;
--   * daily_usage_aggregates, usage_events and subscriptions (canceled) stay: numbers
--     under an opaque id, what GET /admin/reports/monthly is made of;
--   * every other table of schema public with a user_id column, found in the catalog,
--     loses the account's rows: messages recent and archived, conversations (titles),
--     private and pending techniques and resources (so they leave the moderation queue),
--     shares and their views, requests, notifications, webhook deliveries, refresh
--     tokens, rate-limit rows, ... and any table added later, by default.
-- Idempotent: a second call finds nothing left and changes nothing. Returns the rows
-- removed or detached per table.
-- SECURITY DEFINER because detaching approved items makes rows that belong to nobody,
-- which no user policy admits, and the erasure must reach every table in one
-- transaction whatever their policies. It refuses a user other than the transaction's
-- own unless the caller acts as mukti_service (admin and maintenance paths).
CREATE FUNCTION mukti_erase_user_v1(p_user_id uuid)
    RETURNS jsonb
    LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    c_kept CONSTANT text[] := ARRAY['daily_usage_aggregates', 'usage_events', 'subscriptions', 'billing_events'];
    v_done jsonb := '{}'::jsonb;
    v_tables text[];
    v_retry text[];
    v_table text;
    v_n bigint;
BEGIN
    IF p_user_id IS DISTINCT FROM mukti_current_user_v1()
       AND current_setting('role') IS DISTINCT FROM 'mukti_service' THEN
        RAISE EXCEPTION 'mukti_erase_user_v1: the transaction acts for another user' USING ERRCODE = '42501';
    END IF;

    UPDATE users
       SET email = 'deleted-' || id::text || '@invalid', display_name = NULL, password_hash = NULL,
           preferences = '{}'::jsonb, webhook_url = NULL, status = 'deleted',
           deleted_at = coalesce(deleted_at, now()), updated_at = now()
     WHERE id = p_user_id;
    UPDATE subscriptions SET status = 'canceled', updated_at = now()
     WHERE user_id = p_user_id AND status <> 'canceled';
    UPDATE billing_events SET payload = '{"erased": true}'::jsonb
     WHERE user_id = p_user_id AND payload <> '{"erased": true}'::jsonb;

    -- Approved community items stay, authorless, at their approved version.
    DELETE FROM technique_versions v USING techniques t
     WHERE t.id = v.technique_id AND t.user_id = p_user_id AND t.approved_version IS NOT NULL
       AND t.deleted_at IS NULL AND v.version <> t.approved_version;
    WITH detached AS (
        UPDATE techniques SET user_id = NULL, latest_version = approved_version, updated_at = now()
         WHERE user_id = p_user_id AND approved_version IS NOT NULL AND deleted_at IS NULL
        RETURNING id
    )
    UPDATE technique_versions v SET user_id = NULL FROM detached d
     WHERE v.technique_id = d.id AND v.user_id = p_user_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_done := v_done || jsonb_build_object('techniques_detached', v_n);
    UPDATE resources SET user_id = NULL, updated_at = now()
     WHERE user_id = p_user_id AND status = 'approved' AND deleted_at IS NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_done := v_done || jsonb_build_object('resources_detached', v_n);

    -- Votes go; their targets' counters and scores follow.
    WITH gone AS (
        DELETE FROM votes WHERE user_id = p_user_id RETURNING technique_id, resource_id, value
    ), by_technique AS (
        SELECT technique_id AS id, count(*) FILTER (WHERE value = 1)::integer AS up,
               count(*) FILTER (WHERE value = -1)::integer AS down
          FROM gone WHERE technique_id IS NOT NULL GROUP BY technique_id
    ), by_resource AS (
        SELECT resource_id AS id, count(*) FILTER (WHERE value = 1)::integer AS up,
               count(*) FILTER (WHERE value = -1)::integer AS down
          FROM gone WHERE resource_id IS NOT NULL GROUP BY resource_id
    ), techniques_fixed AS (
        UPDATE techniques t
           SET upvotes = t.upvotes - b.up, downvotes = t.downvotes - b.down,
               score = mukti_wilson_lower_bound_v1(t.upvotes - b.up, t.downvotes - b.down)
          FROM by_technique b WHERE t.id = b.id
    )
    UPDATE resources r
       SET upvotes = r.upvotes - b.up, downvotes = r.downvotes - b.down,
           score = mukti_wilson_lower_bound_v1(r.upvotes - b.up, r.downvotes - b.down)
      FROM by_resource b WHERE r.id = b.id;

    -- Everything else with a user_id, from the catalog. Partitions are reached through
    -- their parents. A table whose rows are still referenced (a foreign key without
    -- CASCADE from a table not yet done) is retried after the others.
    SELECT array_agg(c.relname::text ORDER BY c.relname) INTO v_tables
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> ALL (c_kept);
    LOOP
        v_retry := ARRAY[]::text[];
        FOREACH v_table IN ARRAY coalesce(v_tables, ARRAY[]::text[]) LOOP
            BEGIN
                EXECUTE format('DELETE FROM %I WHERE user_id = $1', v_table) USING p_user_id;
                GET DIAGNOSTICS v_n = ROW_COUNT;
                v_done := v_done || jsonb_build_object(v_table, coalesce((v_done ->> v_table)::bigint, 0) + v_n);
            EXCEPTION WHEN foreign_key_violation THEN
                v_retry := v_retry || v_table;
            END;
        END LOOP;
        EXIT WHEN cardinality(v_retry) = 0;
        IF cardinality(v_retry) = cardinality(v_tables) THEN
            RAISE EXCEPTION 'mukti_erase_user_v1: rows of % are still referenced', v_retry
                USING ERRCODE = '23503';
        END IF;
        v_tables := v_retry;
    END LOOP;
    RETURN v_done;
END;
$$;
