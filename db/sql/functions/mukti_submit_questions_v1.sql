-- Several questions, of any users, accepted in one transaction: the API's accept batches
-- (api/conversations/batches.py). Each item is exactly one call of
-- mukti_submit_question_v7 (same outcomes, same locks, same refusals), scoped to its own
-- user for Row-Level Security as that call would scope itself; the batch commits once.
--
-- Why: a transaction that writes pays a commit and a WAL flush, and a round trip each way.
-- Under load an API process has questions waiting for a connection anyway; sent together
-- they share all three (bench/ask.py: Postgres's CPU per question falls by about half with
-- eight in a batch; docs/performance.md "Accept batches").
--
-- Items run in the order of their user ids (then their place in the arrays), so that two
-- batches lock the users' subscription rows, then their conversations, in one order and do
-- not deadlock with each other. The rows come back with `item`, the 1-based place of the
-- question in the arrays.
--
-- One item raising (a content check, a lock timeout, a deadlock with another kind of
-- transaction) fails the whole batch and nothing of it is written: the caller then sends
-- each question alone, so that every question gets its own outcome or error.
--
-- Scope: the transaction must not be scoped on entry (a batch acts for several users: it
-- refuses, as v7 refuses a transaction scoped to another user); each item sets its user,
-- and the scope is cleared again on return, so nothing after the call in the same
-- transaction acts for the last item's user.
CREATE FUNCTION mukti_submit_questions_v1(
    p_user_ids uuid[],
    p_conversation_ids uuid[],
    p_contents text[],
    p_modes text[],
    p_seqs integer[],
    p_burst_limit integer,
    p_burst_window_seconds integer,
    p_max_attempts integer DEFAULT 3
)
    RETURNS TABLE (
        item integer,
        outcome text,
        request_id uuid,
        message_seq integer,
        queue_position integer,
        retry_after_seconds integer,
        detail text
    )
    LANGUAGE plpgsql
AS $$
DECLARE
    v_n integer := coalesce(cardinality(p_user_ids), 0);
    v_i integer;
BEGIN
    IF coalesce(cardinality(p_conversation_ids), 0) <> v_n OR coalesce(cardinality(p_contents), 0) <> v_n
       OR coalesce(cardinality(p_modes), 0) <> v_n OR coalesce(cardinality(p_seqs), 0) <> v_n THEN
        RAISE EXCEPTION 'the arrays of a batch must be of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF nullif(current_setting('mukti.user_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'a batch of questions acts for several users: the transaction must not be scoped'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR v_i IN SELECT u.i FROM unnest(p_user_ids) WITH ORDINALITY AS u(user_id, i) ORDER BY u.user_id, u.i LOOP
        PERFORM set_config('mukti.user_id', p_user_ids[v_i]::text, true);
        item := v_i;
        SELECT s.outcome, s.request_id, s.message_seq, s.queue_position, s.retry_after_seconds, s.detail
          INTO outcome, request_id, message_seq, queue_position, retry_after_seconds, detail
          FROM mukti_submit_question_v7(p_user_ids[v_i], p_conversation_ids[v_i], p_contents[v_i],
                                        p_burst_limit, p_burst_window_seconds, p_max_attempts,
                                        p_modes[v_i], p_seqs[v_i]) AS s;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('mukti.user_id', '', true);
END;
$$;
