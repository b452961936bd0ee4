-- mukti_error_class_v1(error)
-- The class of a request's error, from the public reasons the worker records
-- (core/llm/client.py LlmError.public, jobs/answering.py): a short stable key for
-- grouping failures. NULL for no error; 'other' for a reason not known here.
CREATE FUNCTION mukti_error_class_v1(p_error text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_error IS NULL THEN NULL
        WHEN p_error LIKE '%rate limiting%' THEN 'llm_rate_limited'
        WHEN p_error LIKE '%did not answer in time%' THEN 'llm_timeout'
        WHEN p_error ~ 'answered with an error \(HTTP 5' THEN 'llm_server_error'
        WHEN p_error ~ 'answered with an error \(HTTP' THEN 'llm_client_error'
        WHEN p_error LIKE '%could not be reached%' THEN 'llm_unreachable'
        WHEN p_error LIKE '%interrupted too many times%' THEN 'interrupted'
        WHEN p_error LIKE '%internal error%' THEN 'internal'
        ELSE 'other'
    END
$$;
