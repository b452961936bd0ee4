-- Several streamed replies, of any users, stored in one transaction: the worker's reply
-- batches (jobs/replies.py). Each item is exactly one call of mukti_complete_stream_v4
-- (same outcomes, same locks: the answering job deleted, the reply, archive, usage and
-- limits stored, live viewers told), scoped to its own user for Row-Level Security as that
-- call would scope itself; the batch commits once.
--
-- Why: the stored reply's transaction is the answer path's one durable commit, and a
-- worker with a hundred jobs in flight has several replies waiting for one of its few
-- connections at once; sent together they share the commit, the WAL flush and the round
-- trip (docs/performance.md "Reply batches").
--
-- Locks, as mukti_submit_questions_v1: first the batch's counting slot (64-127, held by
-- a transaction-level advisory lock; the trigger mukti_count_pending_v2 counts in the slot
-- named in `mukti.pending_slot`), then the items in the order of their user ids (each
-- item: its job, then as v4 the user's subscription, the conversation, the request and
-- the usage rows). A batch therefore waits for another batch or an accept batch whole,
-- before holding a user's rows the other needs; a single call never counts in a batch's
-- slot. The rows come back with `item`, the 1-based place of the reply in the arrays.
--
-- A reply whose rows someone else holds locked for more than 200 ms (a long transaction of
-- an operator's, a stuck session, a slow commit of the same user's rows) is left unwritten
-- with the outcome 'held', and the others are stored: the caller tries it again a little
-- later (jobs/replies.py), so that one held reply holds up neither its batch nor the
-- worker's sender. Each item is its own subtransaction for that (an exception block),
-- and the 200 ms apply to the items' locks, not to the wait for the counting slot.
-- Any other error of an item (a check, a deadlock, a statement timeout) fails the whole
-- batch and nothing of it is written: the caller then sends each reply alone, so that
-- every reply gets its own outcome or error.
--
-- Scope: the transaction must not be scoped on entry, nor run as mukti_service (whose row
-- policies admit every user's rows); each item sets its user, and the scope and the
-- counting slot are cleared again on return.
CREATE FUNCTION mukti_complete_streams_v1(
    p_request_ids uuid[],
    p_contents text[],
    p_prompt_tokens integer[],
    p_completion_tokens integer[],
    p_latency_ms integer[],
    p_first_token_ms integer[],
    p_usage_estimated boolean[],
    p_stopped boolean[],
    p_user_ids uuid[],
    p_job_ids bigint[]
)
    RETURNS TABLE (
        item integer,
        outcome text,
        reply_seq integer,
        cost numeric,
        limit_reached text
    )
    LANGUAGE plpgsql
AS $$
DECLARE
    v_n            integer := coalesce(cardinality(p_request_ids), 0);
    v_slot         integer := 64 + pg_backend_pid() % 64;
    v_item         record;
    v_lock_timeout text := current_setting('lock_timeout');
BEGIN
    IF coalesce(cardinality(p_contents), 0) <> v_n OR coalesce(cardinality(p_prompt_tokens), 0) <> v_n
       OR coalesce(cardinality(p_completion_tokens), 0) <> v_n OR coalesce(cardinality(p_latency_ms), 0) <> v_n
       OR coalesce(cardinality(p_first_token_ms), 0) <> v_n OR coalesce(cardinality(p_usage_estimated), 0) <> v_n
       OR coalesce(cardinality(p_stopped), 0) <> v_n OR coalesce(cardinality(p_user_ids), 0) <> v_n
       OR coalesce(cardinality(p_job_ids), 0) <> v_n THEN
        RAISE EXCEPTION 'the arrays of a batch must be of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_n > 100 THEN
        RAISE EXCEPTION 'a batch holds at most 100 replies (got %)', v_n USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF nullif(current_setting('mukti.user_id', true), '') IS NOT NULL OR current_user = 'mukti_service' THEN
        RAISE EXCEPTION 'a batch of replies acts for several users, each in its own scope: the transaction must '
                        'be neither scoped nor the service role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mukti.pending_slot'), v_slot);
    PERFORM set_config('mukti.pending_slot', v_slot::text, true);
    PERFORM set_config('lock_timeout', '200ms', true);
    FOR v_item IN
        SELECT i.* FROM unnest(p_request_ids, p_contents, p_prompt_tokens, p_completion_tokens, p_latency_ms,
                               p_first_token_ms, p_usage_estimated, p_stopped, p_user_ids, p_job_ids)
                        WITH ORDINALITY AS i(request_id, content, prompt_tokens, completion_tokens, latency_ms,
                                             first_token_ms, usage_estimated, stopped, user_id, job_id, place)
         ORDER BY i.user_id, i.place
    LOOP
        PERFORM set_config('mukti.user_id', v_item.user_id::text, true);
        item := v_item.place;
        BEGIN
            SELECT c.outcome, c.reply_seq, c.cost, c.limit_reached INTO outcome, reply_seq, cost, limit_reached
              FROM mukti_complete_stream_v4(v_item.request_id, v_item.content, v_item.prompt_tokens,
                                            v_item.completion_tokens, v_item.latency_ms, v_item.first_token_ms,
                                            v_item.usage_estimated, v_item.stopped, v_item.user_id,
                                            v_item.job_id) AS c;
        EXCEPTION WHEN lock_not_available THEN
            outcome := 'held';
            reply_seq := NULL;
            cost := NULL;
            limit_reached := NULL;
        END;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    PERFORM set_config('mukti.user_id', '', true);
    PERFORM set_config('mukti.pending_slot', '', true);
END;
$$;
