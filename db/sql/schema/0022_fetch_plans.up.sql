-- 0022 fetch plans: Procrastinate's fetch of the next job planned on every call, without
-- sorts. A session keeps the plan of a PL/pgSQL statement from its first calls; the
-- worker's sessions made it while procrastinate_jobs held few rows or none (a quiet hour:
-- finished jobs are deleted at once) and kept it as a backlog grew: a nested loop that
-- reads every queued job for each fetch. Measured (one session, 3,000 questions queued,
-- each with its own conversation lock): 1,160 ms a fetch with the plan made on the empty
-- table, 190 ms in a new session before the table's statistics caught up, 0.2 ms after
-- ANALYZE (the statement's execution alone). Planned on each call and without a sort (the
-- ordered index on priority and id gives the first job directly), a fetch takes 1.2-1.7 ms
-- from a client in every one of those cases, against 1.2-1.35 ms with a good plan kept:
-- the planning, ~0.3-0.6 ms a fetch, for never the worst case.
-- Only the function's configuration changes (no lock beyond the catalog's). A Procrastinate
-- upgrade that recreates the function drops these settings: tests/integration/
-- test_fetch_plans.py fails then.
ALTER FUNCTION procrastinate_fetch_job_v2(character varying[], bigint)
    SET enable_sort = off
    SET plan_cache_mode = force_custom_plan;
