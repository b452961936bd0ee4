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
-- Locks: a batch holds the locks of all its items until it commits, so it takes them in
-- one order: first its counting slot (64-127, its own: the trigger mukti_count_pending_v2
-- counts in request_queue_pending_counts under the slot named in `mukti.pending_slot`),
-- held by a transaction-level advisory lock, then the items in the order of their user ids
-- (each item: the user's subscription, then the conversation, as v7). Two batches whose
-- backends share a slot wait for each other, whole, before either holds a user; a single
-- call never counts in a batch's slot. The rows come back with `item`, the 1-based place
-- of the question in the arrays.
--
-- One item raising (a content check, a lock or statement timeout, a deadlock with another
-- kind of transaction) fails the whole batch and nothing of it is written: the caller then
-- sends each question alone, so that every question gets its own outcome or error.
--
-- Scope: the transaction must not be scoped on entry, nor run as mukti_service (whose
-- row policies admit every user's rows: an item would no longer see only its own); each
-- item sets its user, and the scope (and the counting slot) are cleared again on return,
-- so nothing after the call in the same transaction acts for the last item's user.
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
    v_n    integer := coalesce(cardinality(p_user_ids), 0);
    v_slot integer := 64 + pg_backend_pid() % 64;
    v_item record;
BEGIN
    IF coalesce(cardinality(p_conversation_ids), 0) <> v_n OR coalesce(cardinality(p_contents), 0) <> v_n
       OR coalesce(cardinality(p_modes), 0) <> v_n OR coalesce(cardinality(p_seqs), 0) <> v_n THEN
        RAISE EXCEPTION 'the arrays of a batch must be of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_n > 100 THEN
        RAISE EXCEPTION 'a batch holds at most 100 questions (got %)', v_n USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF nullif(current_setting('mukti.user_id', true), '') IS NOT NULL OR current_user = 'mukti_service' THEN
        RAISE EXCEPTION 'a batch of questions acts for several users, each in its own scope: the transaction must '
                        'be neither scoped nor the service role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The slot first: every priority's row of it, whatever plans exist by the time an item
    -- reads its own, is this transaction's until it ends.
    PERFORM pg_advisory_xact_lock(hashtext('mukti.pending_slot'), v_slot);
    PERFORM set_config('mukti.pending_slot', v_slot::text, true);
    -- One unnest of all the arrays: items line up by position whatever their bounds.
    FOR v_item IN
        SELECT i.* FROM unnest(p_user_ids, p_conversation_ids, p_contents, p_modes, p_seqs)
                        WITH ORDINALITY AS i(user_id, conversation_id, content, mode, seq, place)
         ORDER BY i.user_id, i.place
    LOOP
        PERFORM set_config('mukti.user_id', v_item.user_id::text, true);
        item := v_item.place;
        SELECT s.outcome, s.request_id, s.message_seq, s.queue_position, s.retry_after_seconds, s.detail
          INTO outcome, request_id, message_seq, queue_position, retry_after_seconds, detail
          FROM mukti_submit_question_v7(v_item.user_id, v_item.conversation_id, v_item.content,
                                        p_burst_limit, p_burst_window_seconds, p_max_attempts,
                                        v_item.mode, v_item.seq) AS s;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('mukti.user_id', '', true);
    PERFORM set_config('mukti.pending_slot', '', true);
END;
$$;
