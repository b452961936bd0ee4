-- 0030 hits plan: the limits' count (mukti_question_hits_v1, on every accept) planned once
-- per session, whatever history lies behind the window. A PL/pgSQL statement is planned
-- for its parameters on each call while that plan is estimated cheaper than the generic
-- one; over a rate_limits table whose rows are mostly older than the day's window (the
-- purge job stopped: bench/aged.py's 10,000,000 expired rows), the generic estimate takes
-- a third of a user's rows, the one made for the call's time almost none, so each call
-- planned the count again (EXPLAIN, aged database: generic cost 183 against 4.6; 50,000
-- calls in one session: 35 us a call, 21 us with this setting; 15-16 us on a fresh
-- database either way). Either plan scans the same range of rate_limits_window_idx (an
-- index-only scan where row-level security is bypassed, an index scan where the policy
-- needs user_id). Without sequential scans: for a table that one user's history fills
-- (300,000 hits, not yet vacuumed) the generic plan would otherwise read it whole on each
-- call, where the plan made per call reads the window only. Today's callers already run
-- without them (mukti_submit_question_v7, mukti_complete_request_v4); the versions before,
-- kept for the release before during an upgrade, and direct calls do not. A later version
-- of this function carries both settings in its own definition.
-- Only the function's configuration changes (no lock beyond the catalog's).
ALTER FUNCTION mukti_question_hits_v1(text, timestamp with time zone, interval)
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off;
