-- Several requests, of any users, taken for one LLM attempt each in one transaction: the
-- worker's start batches (jobs/starts.py). Each item is exactly one call of
-- mukti_start_attempt_v1 (same row, same lock, same 'processing' state item for live
-- viewers), scoped to its own user for Row-Level Security as that call would scope itself;
-- the batch commits once.
--
-- Why: the start is the first statement of every answer, and its NOTIFY holds Postgres's
-- cluster-wide notify lock from its commit until that commit's WAL flush ends (its own or
-- the stored replies' it queues behind): one start a transaction took that lock once per
-- answer; a batch takes it once for all of its items, and shares their commit and round
-- trip (docs/performance.md "Start batches").
--
-- Locks, as mukti_complete_streams_v1: first the batch's counting slot (64-127, held by a
-- transaction-level advisory lock; the request's move out of 'pending' is counted by the
-- trigger mukti_count_pending_v2 in the slot named in `mukti.pending_slot`), then each
-- item's request row, in the order given. A batch therefore never holds a counting row
-- that a single call (a cancel, an accept) waits for while it waits for that call's
-- request.
-- A request whose row someone else holds locked (a cancel under way, an operator's
-- transaction, an account's erasure) is not waited for: its item comes back `held` and
-- the others are started; the caller tries it again a little later (jobs/starts.py), so
-- that one locked row holds up neither the batch nor the worker's other starts.
-- Any other error of an item fails the whole batch and nothing of it is written: the
-- caller then starts each alone, so that every item gets its own row or error.
--
-- Rows: one per item, `item` its 1-based place in the arrays, `held` as above, the rest as
-- mukti_start_attempt_v1's row, all NULL for an item held or whose request is finished (or
-- gone, or not that user's): the single call's "no row".
-- Planned without sequential scans, as mukti_submit_question_v6 (docs/performance.md
-- "Plans made on an empty queue"): the row lock is a primary-key look-up.
-- Scope: the transaction must not be scoped on entry, nor run as mukti_service; each item
-- sets its user, and the scope and the counting slot are cleared again on return.
CREATE FUNCTION mukti_start_attempts_v1(p_request_ids uuid[], p_user_ids uuid[])
    RETURNS TABLE (
        item integer,
        held boolean,
        request_id uuid,
        user_id text,
        attempts integer,
        max_attempts integer,
        model text,
        message_seq integer,
        cancel_requested boolean,
        technique_name text,
        system_prompt text,
        questioning_style text,
        display_name text,
        preferences text,
        messages text
    )
    LANGUAGE plpgsql
    SET enable_seqscan = off
AS $$
DECLARE
    v_n    integer := coalesce(cardinality(p_request_ids), 0);
    v_slot integer := 64 + pg_backend_pid() % 64;
    v_item record;
BEGIN
    IF coalesce(cardinality(p_user_ids), 0) <> v_n THEN
        RAISE EXCEPTION 'the arrays of a batch must be of one length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_n > 100 THEN
        RAISE EXCEPTION 'a batch holds at most 100 starts (got %)', v_n USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF nullif(current_setting('mukti.user_id', true), '') IS NOT NULL OR current_user = 'mukti_service' THEN
        RAISE EXCEPTION 'a batch of starts acts for several users, each in its own scope: the transaction must '
                        'be neither scoped nor the service role' USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('mukti.pending_slot'), v_slot);
    PERFORM set_config('mukti.pending_slot', v_slot::text, true);
    FOR v_item IN
        SELECT i.request_id, i.user_id, i.place
          FROM unnest(p_request_ids, p_user_ids) WITH ORDINALITY AS i(request_id, user_id, place)
         ORDER BY i.place
    LOOP
        PERFORM set_config('mukti.user_id', v_item.user_id::text, true);
        item := v_item.place;
        -- The row locked first, as the start's update locks it, without waiting (in its
        -- user's scope: another user's request is not found, as alone); the update then
        -- finds it held by this transaction. Found but not locked: someone else holds it.
        PERFORM 1 FROM request_queue q WHERE q.id = v_item.request_id FOR NO KEY UPDATE SKIP LOCKED;
        held := NOT FOUND AND EXISTS (SELECT 1 FROM request_queue q WHERE q.id = v_item.request_id);
        IF held THEN  -- nothing started: every column but item and held NULL
            request_id := NULL; user_id := NULL; attempts := NULL; max_attempts := NULL; model := NULL;
            message_seq := NULL; cancel_requested := NULL; technique_name := NULL; system_prompt := NULL;
            questioning_style := NULL; display_name := NULL; preferences := NULL; messages := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        -- No row (a finished request): SELECT INTO sets every column NULL.
        SELECT s.request_id, s.user_id, s.attempts, s.max_attempts, s.model, s.message_seq, s.cancel_requested,
               s.technique_name, s.system_prompt, s.questioning_style, s.display_name, s.preferences, s.messages
          INTO request_id, user_id, attempts, max_attempts, model, message_seq, cancel_requested,
               technique_name, system_prompt, questioning_style, display_name, preferences, messages
          FROM mukti_start_attempt_v1(v_item.request_id, v_item.user_id) AS s;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('mukti.user_id', '', true);
    PERFORM set_config('mukti.pending_slot', '', true);
END;
$$;
