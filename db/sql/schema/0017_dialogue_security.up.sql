-- Row-Level Security on the new user_id tables (message_versions, message_feedback),
-- as on every other (migration 0013).
SELECT mukti_protect_user_tables_v1();

-- The queue position counts every user's waiting requests: definer's rights (below).
ALTER FUNCTION mukti_pending_after_v1(integer, timestamptz, uuid) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION mukti_pending_after_v1(integer, timestamptz, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mukti_pending_after_v1(integer, timestamptz, uuid) TO mukti_app;

-- Follow-ups act for no single user: the worker calls it as mukti_service.
REVOKE EXECUTE ON FUNCTION mukti_add_follow_up_v1(uuid, text, text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mukti_add_follow_up_v1(uuid, text, text, integer, integer) TO mukti_app;
