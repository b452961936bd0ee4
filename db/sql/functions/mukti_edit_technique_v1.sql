-- The owner edits a technique: a new version row (latest_version + 1, pending) with the
-- given fields and the latest version's values for the others (NULL = unchanged).
-- An approved technique stays live at approved_version until a moderator approves the
-- new one; a still-pending earlier version is superseded (rejected with that reason), so
-- at most one version per technique waits in the moderation queue. A technique that was
-- never approved goes (back) to pending and shows the new name in lists.
-- Returns the new version; NULL when the technique is not the caller's (or deleted).
CREATE FUNCTION mukti_edit_technique_v1(p_user uuid, p_technique_id uuid, p_name text, p_description text,
                                        p_system_prompt text, p_questioning_style text)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_version integer;
BEGIN
    UPDATE techniques
       SET latest_version = latest_version + 1, updated_at = now()
     WHERE id = p_technique_id AND user_id = p_user AND deleted_at IS NULL AND NOT is_builtin
    RETURNING latest_version INTO v_version;
    IF v_version IS NULL THEN
        RETURN NULL;
    END IF;

    UPDATE technique_versions
       SET status = 'rejected', rejection_reason = format('superseded by version %s', v_version)
     WHERE technique_id = p_technique_id AND status = 'pending';

    INSERT INTO technique_versions (technique_id, version, user_id, name, description, system_prompt,
                                    questioning_style, status)
    SELECT p_technique_id, v_version, p_user, coalesce(p_name, name), coalesce(p_description, description),
           coalesce(p_system_prompt, system_prompt), coalesce(p_questioning_style, questioning_style), 'pending'
      FROM technique_versions
     WHERE technique_id = p_technique_id AND version = v_version - 1;

    UPDATE techniques t
       SET status = 'pending', rejection_reason = NULL, name = tv.name, description = tv.description
      FROM technique_versions tv
     WHERE t.id = p_technique_id AND t.approved_version IS NULL
       AND tv.technique_id = t.id AND tv.version = v_version;
    RETURN v_version;
END;
$$;
