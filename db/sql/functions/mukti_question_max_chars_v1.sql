-- The longest question a user may ask, in characters: the one place this limit is stated
-- in SQL (api/conversations/schemas.py MAX_CONTENT states it for request validation; a
-- test keeps the two equal). IMMUTABLE and a bare SELECT, so the planner inlines it.
CREATE FUNCTION mukti_question_max_chars_v1()
    RETURNS integer
    LANGUAGE sql
    IMMUTABLE PARALLEL SAFE
AS $$ SELECT 8000 $$;
