-- Refresh-token rotation in one atomic step.
--
-- The presented token (by its SHA-256) is locked; a valid one is marked used and a new
-- token of the same family is stored (p_new_hash). Presenting a token that was already
-- used means it leaked (or was raced): the whole family is revoked. outcome is one of
-- 'rotated', 'unknown', 'revoked', 'reused', 'expired', 'inactive'; account_id and
-- account_role are set only for 'rotated'.
CREATE FUNCTION mukti_rotate_refresh_token_v1(
    p_token_hash bytea,
    p_new_hash bytea,
    p_ttl interval,
    OUT outcome text,
    OUT account_id uuid,
    OUT account_role text
)
LANGUAGE plpgsql AS $$
DECLARE
    v_token refresh_tokens%ROWTYPE;
    v_role text;
    v_status text;
BEGIN
    SELECT * INTO v_token FROM refresh_tokens WHERE token_hash = p_token_hash FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    IF v_token.revoked_at IS NOT NULL THEN
        outcome := 'revoked';
        RETURN;
    END IF;
    IF v_token.used_at IS NOT NULL THEN
        UPDATE refresh_tokens SET revoked_at = now()
         WHERE family_id = v_token.family_id AND revoked_at IS NULL;
        outcome := 'reused';
        RETURN;
    END IF;
    IF v_token.expires_at <= now() THEN
        outcome := 'expired';
        RETURN;
    END IF;
    SELECT u.role, u.status INTO v_role, v_status FROM users u WHERE u.id = v_token.user_id;
    IF v_status IS DISTINCT FROM 'active' THEN
        outcome := 'inactive';
        RETURN;
    END IF;

    UPDATE refresh_tokens SET used_at = now() WHERE id = v_token.id;
    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
    VALUES (v_token.user_id, v_token.family_id, p_new_hash, now() + p_ttl);
    outcome := 'rotated';
    account_id := v_token.user_id;
    account_role := v_role;
END;
$$;
