-- Scope the calling transaction to one user for Row-Level Security (docs/privacy.md), from
-- inside a SQL function the API or the worker sends alone, without the BEGIN and
-- set_config of core/database/scope.py (SELF_SCOPED: one round trip instead of three).
-- With no user in the transaction's scope it sets p_user_id, transaction-local as the
-- API's; with the same user it does nothing; scoped to another user it refuses.
CREATE FUNCTION mukti_scope_to_user_v1(p_user_id uuid)
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_scope text := nullif(current_setting('mukti.user_id', true), '');
BEGIN
    IF v_scope IS NULL THEN
        PERFORM set_config('mukti.user_id', p_user_id::text, true);
    ELSIF v_scope::uuid IS DISTINCT FROM p_user_id THEN
        RAISE EXCEPTION 'the transaction is scoped to another user' USING ERRCODE = 'insufficient_privilege';
    END IF;
END;
$$;
