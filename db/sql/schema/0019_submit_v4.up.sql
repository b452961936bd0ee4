-- The queue position counts every user's waiting requests: definer's rights, as v1 (0017).
ALTER FUNCTION mukti_pending_after_v2(integer, timestamptz, uuid) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION mukti_pending_after_v2(integer, timestamptz, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mukti_pending_after_v2(integer, timestamptz, uuid) TO mukti_app;
