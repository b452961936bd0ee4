-- 0030 hits plan: the limits' count (mukti_question_hits_v1, on every accept) planned once
-- per session, whatever history lies behind the window. A PL/pgSQL statement is planned
-- for its parameters on each call while that plan is estimated cheaper than the generic
-- one; over a rate_limits table whose rows are mostly older than the day's window (the
-- purge job stopped: bench/aged.py's 10,000,000 expired rows), the generic estimate takes
-- a third of a user's rows, the one made for the call's time almost none, so each call
-- planned the count again (EXPLAIN, aged database: generic cost 183 against 4.6; 50,000
-- calls in one session: 35 us a call, 21 us with this setting; 15-16 us on a fresh
-- database either way). The plan is the same index-only range scan of
-- rate_limits_window_idx either way. Without sequential scans: the generic plan for a table
-- one user's history fills (a lone user, 1,000,000 hits) would otherwise read it whole,
-- where the plan made per call reads the window only; the accept path (v7) already runs
-- without them, the worker's refund (mukti_complete_request_v4) did not.
-- Only the function's configuration changes (no lock beyond the catalog's).
ALTER FUNCTION mukti_question_hits_v1(text, timestamp with time zone, interval)
    SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off;
