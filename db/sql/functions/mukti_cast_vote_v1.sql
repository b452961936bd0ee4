-- Set, change or remove (p_value NULL) a user's vote on a technique or a resource and
-- move the target's denormalized counts and Wilson score by the difference, all in the
-- caller's transaction, so the counts always equal the votes table.
--
-- Concurrency: the vote row is written first with one upsert. Same-user calls serialize
-- on the unique constraint (votes_user_<type>_key): a waiter re-checks the committed row,
-- and the `WHERE v.value IS DISTINCT FROM EXCLUDED.value` clause turns a repeated vote
-- into no row at all. A returned row is either an insert (xmax = 0: the old vote was
-- none) or an update, which with values of +1/-1 can only be a flip (old = -new). The
-- target's counters then move by a delta with `upvotes = upvotes + d`: Postgres
-- re-reads the locked row before applying it, so concurrent voters never lose updates.
-- Locks are always taken vote row first, then target row: no deadlock cycle.
--
-- Errors carry a CONSTRAINT name that api/errors.py maps: votes_target_visible (404:
-- missing, deleted, or not approved), votes_not_own_item (403).
CREATE FUNCTION mukti_cast_vote_v1(p_user uuid, p_target_type text, p_target_id uuid, p_value integer)
RETURNS TABLE (upvotes integer, downvotes integer, score double precision)
LANGUAGE plpgsql
AS $$
DECLARE
    v_table   text;
    v_column  text;
    v_owner   uuid;
    v_status  text;
    v_found   integer;
    v_new     integer := coalesce(p_value, 0);
    v_old     integer;
    v_inserted boolean;
BEGIN
    IF p_target_type = 'technique' THEN
        v_table := 'techniques'; v_column := 'technique_id';
    ELSIF p_target_type = 'resource' THEN
        v_table := 'resources'; v_column := 'resource_id';
    ELSE
        RAISE EXCEPTION 'unknown vote target type: %', p_target_type USING ERRCODE = '22023';
    END IF;
    IF p_value IS NOT NULL AND p_value NOT IN (-1, 1) THEN
        RAISE EXCEPTION 'a vote is 1 or -1' USING ERRCODE = '23514', CONSTRAINT = 'votes_value_valid';
    END IF;

    EXECUTE format('SELECT user_id, status FROM %I WHERE id = $1 AND deleted_at IS NULL', v_table)
        INTO v_owner, v_status USING p_target_id;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found = 1 AND v_owner = p_user THEN
        RAISE EXCEPTION 'you cannot vote on your own %', p_target_type
            USING ERRCODE = 'P0001', CONSTRAINT = 'votes_not_own_item';
    END IF;
    IF v_found = 0 OR v_status <> 'approved' THEN
        RAISE EXCEPTION '% not found', p_target_type USING ERRCODE = 'P0001', CONSTRAINT = 'votes_target_visible';
    END IF;

    IF p_value IS NULL THEN
        EXECUTE format('DELETE FROM votes WHERE user_id = $1 AND %I = $2 RETURNING value', v_column)
            INTO v_old USING p_user, p_target_id;
        v_old := coalesce(v_old, 0);
    ELSE
        EXECUTE format(
            'INSERT INTO votes AS v (user_id, %I, value) VALUES ($1, $2, $3)
             ON CONFLICT ON CONSTRAINT %I
             DO UPDATE SET value = EXCLUDED.value, updated_at = now()
                WHERE v.value IS DISTINCT FROM EXCLUDED.value
             RETURNING v.xmax = 0',
            v_column, 'votes_user_' || p_target_type || '_key')
            INTO v_inserted USING p_user, p_target_id, p_value;
        GET DIAGNOSTICS v_found = ROW_COUNT;
        v_old := CASE WHEN v_found = 0 THEN v_new WHEN v_inserted THEN 0 ELSE -v_new END;
    END IF;

    IF v_old = v_new THEN
        RETURN QUERY EXECUTE format('SELECT upvotes, downvotes, score FROM %I WHERE id = $1', v_table)
            USING p_target_id;
    ELSE
        RETURN QUERY EXECUTE format(
            'UPDATE %I SET upvotes = upvotes + $2, downvotes = downvotes + $3,
                    score = mukti_wilson_lower_bound_v1(upvotes + $2, downvotes + $3)
              WHERE id = $1
             RETURNING upvotes, downvotes, score', v_table)
            USING p_target_id,
                  (v_new = 1)::integer - (v_old = 1)::integer,
                  (v_new = -1)::integer - (v_old = -1)::integer;
    END IF;
END;
$$;
