-- A moderator's decision on a pending technique version or a pending resource, and its
-- audit_log row, in one transaction. Returns the technique version decided (NULL for a
-- resource).
--
-- Techniques: p_version names the pending version the moderator reviewed (NULL = the
-- pending one); approving makes it the live version (name and description shown in
-- lists follow it). Rejecting a never-approved technique rejects the technique; rejecting
-- an edit of a live technique leaves it live at its approved version.
-- Errors carry a CONSTRAINT name mapped in api/errors.py: moderation_target_exists (404),
-- moderation_nothing_pending (409), moderation_version_pending (409),
-- moderation_reason_required (422), moderation_not_own (403: a moderator may not decide on
-- their own submission; an admin may).
CREATE FUNCTION mukti_moderate_v1(p_actor uuid, p_target_type text, p_target_id uuid, p_decision text,
                                  p_reason text, p_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_status  text;
    v_version integer;
    v_author  uuid;
BEGIN
    IF p_decision NOT IN ('approve', 'reject') THEN
        RAISE EXCEPTION 'unknown decision: %', p_decision USING ERRCODE = '22023';
    END IF;
    IF p_decision = 'reject' AND nullif(btrim(p_reason), '') IS NULL THEN
        RAISE EXCEPTION 'a rejection needs a reason'
            USING ERRCODE = '23514', CONSTRAINT = 'moderation_reason_required';
    END IF;

    IF p_target_type = 'technique' THEN
        -- The technique row lock orders this decision with edits (which lock it too).
        SELECT user_id INTO v_author FROM techniques WHERE id = p_target_id AND deleted_at IS NULL FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'technique not found' USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_target_exists';
        END IF;
        SELECT version INTO v_version FROM technique_versions
         WHERE technique_id = p_target_id AND status = 'pending' ORDER BY version DESC LIMIT 1;
        IF v_version IS NULL THEN
            RAISE EXCEPTION 'this technique has no pending version'
                USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_nothing_pending';
        END IF;
        IF p_version IS NOT NULL AND p_version <> v_version THEN
            RAISE EXCEPTION 'version % is not pending (version % is)', p_version, v_version
                USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_version_pending';
        END IF;

        IF p_decision = 'approve' THEN
            UPDATE technique_versions SET status = 'approved', rejection_reason = NULL
             WHERE technique_id = p_target_id AND version = v_version;
            UPDATE techniques t
               SET status = 'approved', approved_version = v_version, name = tv.name,
                   description = tv.description, rejection_reason = NULL, updated_at = now()
              FROM technique_versions tv
             WHERE t.id = p_target_id AND tv.technique_id = t.id AND tv.version = v_version;
        ELSE
            UPDATE technique_versions SET status = 'rejected', rejection_reason = p_reason
             WHERE technique_id = p_target_id AND version = v_version;
            UPDATE techniques
               SET status = 'rejected', rejection_reason = p_reason, updated_at = now()
             WHERE id = p_target_id AND approved_version IS NULL;
        END IF;
    ELSIF p_target_type = 'resource' THEN
        SELECT status, user_id INTO v_status, v_author FROM resources
         WHERE id = p_target_id AND deleted_at IS NULL FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'resource not found' USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_target_exists';
        END IF;
        IF v_status <> 'pending' THEN
            RAISE EXCEPTION 'this resource is not pending'
                USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_nothing_pending';
        END IF;
        UPDATE resources
           SET status = CASE p_decision WHEN 'approve' THEN 'approved' ELSE 'rejected' END,
               rejection_reason = CASE p_decision WHEN 'approve' THEN NULL ELSE p_reason END,
               updated_at = now()
         WHERE id = p_target_id;
    ELSE
        RAISE EXCEPTION 'unknown moderation target type: %', p_target_type USING ERRCODE = '22023';
    END IF;

    -- Checked last so that a missing target is still 404; the whole call rolls back.
    IF v_author = p_actor AND NOT EXISTS (SELECT 1 FROM users WHERE id = p_actor AND role = 'admin') THEN
        RAISE EXCEPTION 'moderators may not decide on their own submissions'
            USING ERRCODE = 'P0001', CONSTRAINT = 'moderation_not_own';
    END IF;

    INSERT INTO audit_log (actor_id, action, target_type, target_id, details)
    VALUES (p_actor, p_target_type || '.' || p_decision, p_target_type, p_target_id::text,
            jsonb_strip_nulls(jsonb_build_object('version', v_version,
                                                 'reason', CASE WHEN p_decision = 'reject' THEN p_reason END)));
    RETURN v_version;
END;
$$;
