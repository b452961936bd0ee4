-- Every outcome of a question is a usage event (answered events come from
-- mukti_complete_request_v1 as event_type 'question'). The others are recorded by
-- triggers, so the lifecycle functions stay as they are:
--   'attempt_failed'  an LLM attempt failed and the request will be retried
--   'failure'         the request failed for good (its last attempt failed)
--   'cancelled'       the request was withdrawn unanswered (its conversation deleted)
--   'limit_reached'   the answer used up the user's hourly or daily allowance
-- each with the request's model and plan, the conversation's technique and, for the
-- failures, the error's class (mukti_error_class_v1).

-- mukti_log_outcome_v1(request, event_type, technique, error_class): the one insert.
CREATE FUNCTION mukti_log_outcome_v1(p_request public.request_queue, p_event_type text, p_technique_id uuid,
                                     p_error_class text)
RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO public.usage_events (user_id, occurred_at, event_type, conversation_id, request_id, model,
                                     technique_id, plan_id, error_class)
    VALUES (p_request.user_id, clock_timestamp(), p_event_type, p_request.conversation_id, p_request.id,
            p_request.model, p_technique_id, p_request.plan_id, p_error_class)
$$;

-- AFTER UPDATE OF error ON request_queue, WHEN the new error is not NULL: the column is
-- set exactly by a failed attempt (mukti_fail_attempt_v1: back to 'pending' to retry,
-- or 'failed' for good); a completion clears it and is filtered out by the WHEN.
CREATE FUNCTION mukti_log_failed_attempt_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.status NOT IN ('pending', 'failed') THEN
        RETURN NULL;
    END IF;
    PERFORM mukti_log_outcome_v1(NEW, CASE NEW.status WHEN 'failed' THEN 'failure' ELSE 'attempt_failed' END,
                                 (SELECT c.technique_id FROM public.conversations c WHERE c.id = NEW.conversation_id),
                                 mukti_error_class_v1(NEW.error));
    RETURN NULL;
END;
$$;

-- BEFORE DELETE ON conversations: its unanswered requests are cancelled (recorded here,
-- while the conversation still names its technique; the rows go by cascade). Not when
-- the whole account is being erased: its user row is already gone then, and erasure
-- keeps nothing per user beyond the anonymous aggregates.
CREATE FUNCTION mukti_log_cancelled_requests_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    r public.request_queue;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = OLD.user_id) THEN
        RETURN OLD;
    END IF;
    FOR r IN SELECT * FROM public.request_queue q
              WHERE q.conversation_id = OLD.id AND q.status IN ('pending', 'processing')
    LOOP
        PERFORM mukti_log_outcome_v1(r, 'cancelled', OLD.technique_id, NULL);
    END LOOP;
    RETURN OLD;
END;
$$;

-- AFTER INSERT ON notifications of a limit kind: the limit was reached by the answer
-- completed in this transaction (mukti_complete_request_v1 notifies once per window),
-- the user's latest completed request.
CREATE FUNCTION mukti_log_limit_reached_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    r public.request_queue;
BEGIN
    SELECT * INTO r FROM public.request_queue q
     WHERE q.user_id = NEW.user_id AND q.status = 'completed'
     ORDER BY q.completed_at DESC
     LIMIT 1;
    IF FOUND THEN
        PERFORM mukti_log_outcome_v1(r, 'limit_reached',
                                     (SELECT c.technique_id FROM public.conversations c WHERE c.id = r.conversation_id),
                                     NULL);
    ELSE
        INSERT INTO public.usage_events (user_id, occurred_at, event_type)
        VALUES (NEW.user_id, clock_timestamp(), 'limit_reached');
    END IF;
    RETURN NULL;
END;
$$;
