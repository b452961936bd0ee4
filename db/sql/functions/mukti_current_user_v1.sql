-- The user the current transaction acts for: the transaction-local setting mukti.user_id
-- (set by core/database/scope.py with set_config(..., true)), NULL when none is set.
-- Every Row-Level Security policy keyed on a user compares user_id with this. A plain
-- SQL expression, STABLE: the planner inlines it and evaluates it once per scan, so
-- `user_id = mukti_current_user_v1()` is an index condition like any parameter.
CREATE FUNCTION mukti_current_user_v1()
    RETURNS uuid
    LANGUAGE sql
    STABLE PARALLEL SAFE
AS $$
    SELECT nullif(current_setting('mukti.user_id', true), '')::uuid;
$$;
