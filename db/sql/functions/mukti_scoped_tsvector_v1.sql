-- mukti_scoped_tsvector_v1(search, user_id)
-- A message's search vector plus one lexeme naming its owner, 'u<hex of user_id>', at
-- weight A. GIN indexes this expression, so a query `... @@ (q && 'u<hex>:A')` intersects
-- the owner's posting list with the words' inside the index: another user's rows are
-- never read. to_tsvector only emits weight-D positions, so a message that happens to
-- contain the text 'u<hex>' cannot match the weight-A scope of that user.
-- Inlined by the planner (a plain SQL expression), so queries that call it match the index.
CREATE FUNCTION mukti_scoped_tsvector_v1(search tsvector, user_id uuid) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN search || setweight(('u' || replace(user_id::text, '-', '') || ':1')::tsvector, 'A');
