-- mukti_view_share_v1(token_hash, password_ok, referrer, visitor_hash)
-- Serves one view of a shared link: in ONE statement it checks revocation, expiry,
-- the view limit and the owner's account, and counts the view only when all allow it
-- (concurrent viewers serialize on the row, so the limit is never overrun), then
-- records the view for analytics. A password-protected link is only counted when the
-- caller says the password was verified (p_password_ok); otherwise the outcome is
-- 'password_required' with the hash to verify, and nothing is counted.
-- Outcomes: 'ok' (counted), 'password_required', 'gone' (revoked, expired, out of
-- views, or the owner's account is no longer active), 'not_found'.
CREATE FUNCTION mukti_view_share_v1(
    p_token_hash bytea, p_password_ok boolean, p_referrer text, p_visitor_hash bytea
) RETURNS TABLE (
    outcome text, link_id uuid, password_hash text, conversation_id uuid, snapshot_seq integer,
    title text, technique text
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    link shared_links%ROWTYPE;
    owner_active boolean;
BEGIN
    UPDATE shared_links AS l
       SET view_count = l.view_count + 1, last_viewed_at = now()
     WHERE l.token_hash = p_token_hash
       AND l.revoked_at IS NULL
       AND l.expires_at > now()
       AND l.view_count < l.max_views
       AND (l.password_hash IS NULL OR p_password_ok)
       AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id AND u.status = 'active')
    RETURNING l.* INTO link;

    IF FOUND THEN
        INSERT INTO shared_link_views (shared_link_id, user_id, viewed_at, referrer, visitor_hash)
        VALUES (link.id, link.user_id, now(), p_referrer, p_visitor_hash);
        RETURN QUERY
            SELECT 'ok'::text, link.id, NULL::text, link.conversation_id, link.snapshot_seq,
                   c.title, coalesce(tv.name, t.name)
              FROM conversations c
              LEFT JOIN techniques t ON t.id = c.technique_id
              LEFT JOIN technique_versions tv
                     ON tv.technique_id = c.technique_id AND tv.version = c.technique_version
             WHERE c.id = link.conversation_id;
        RETURN;
    END IF;

    -- Not counted: say why, without counting anything.
    SELECT l.* INTO link FROM shared_links l WHERE l.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::integer,
                            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT u.status = 'active' INTO owner_active FROM users u WHERE u.id = link.user_id;
    IF link.revoked_at IS NOT NULL OR link.expires_at <= now() OR link.view_count >= link.max_views
       OR NOT coalesce(owner_active, false) THEN
        RETURN QUERY SELECT 'gone'::text, link.id, NULL::text, NULL::uuid, NULL::integer,
                            NULL::text, NULL::text;
    ELSE
        RETURN QUERY SELECT 'password_required'::text, link.id, link.password_hash, NULL::uuid,
                            NULL::integer, NULL::text, NULL::text;
    END IF;
END
$$;
