-- Analytics v2 (issue 15): every outcome of a question is a usage event, cost is exact,
-- daily usage per plan as a materialized view that outlives the raw events, and the
-- time of every matview refresh. Only DDL here, each statement brief: the scans
-- (constraint validation, backfills, first refresh) run in 0014a outside this transaction.

-- Usage events name their plan and, for failures, the error's class. Adding nullable
-- columns without a default changes only the catalog.
ALTER TABLE usage_events ADD COLUMN plan_id text, ADD COLUMN error_class text;
-- Replaced at once (same transaction) by a check that allows more types; it is added
-- NOT VALID and validated in 0014a without blocking writers.
-- squawk-ignore ban-drop-constraint
ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_valid;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_valid CHECK (event_type IN (
    'question', 'answer', 'attempt_failed', 'failure', 'cancelled', 'limit_reached')) NOT VALID;

-- Exact cost: unconstrained numeric. From numeric(p, s) to numeric is binary
-- compatible (no rewrite, no index rebuild), only a brief ACCESS EXCLUSIVE lock, bounded
-- by lock_timeout. The views over these columns are recreated around it (same files).
-- Recreated in this transaction from the same files (migration 0014): clients see no gap.
-- squawk-ignore ban-drop-view
DROP VIEW analytics.model_costs_v1, analytics.usage_hourly_v1, analytics.monthly_billing_v1,
    analytics.daily_usage_v1;
-- numeric(p, s) -> numeric is binary compatible: no rewrite, a brief lock only.
-- squawk-ignore changing-column-type
ALTER TABLE usage_events ALTER COLUMN cost TYPE numeric;
-- numeric(p, s) -> numeric is binary compatible: no rewrite, a brief lock only.
-- squawk-ignore changing-column-type
ALTER TABLE daily_usage_aggregates ALTER COLUMN cost TYPE numeric;
-- numeric(p, s) -> numeric is binary compatible: no rewrite, a brief lock only.
-- squawk-ignore changing-column-type
ALTER TABLE analytics.usage_hourly ALTER COLUMN cost TYPE numeric;
-- numeric(p, s) -> numeric is binary compatible: no rewrite, a brief lock only.
-- squawk-ignore changing-column-type
ALTER TABLE model_prices ALTER COLUMN prompt_per_1k TYPE numeric, ALTER COLUMN completion_per_1k TYPE numeric;

-- The closed days of analytics.daily_usage_v2 (mukti_close_usage_days_v1); '' = none.
CREATE TABLE analytics.daily_usage_closed (
    day                  date NOT NULL,
    plan_id              text NOT NULL,
    model                text NOT NULL,
    technique_id         uuid,
    answered             bigint NOT NULL,
    failed_attempts      bigint NOT NULL,
    failed               bigint NOT NULL,
    cancelled            bigint NOT NULL,
    limits_reached       bigint NOT NULL,
    users                bigint NOT NULL,
    prompt_tokens        bigint NOT NULL,
    completion_tokens    bigint NOT NULL,
    cost                 numeric NOT NULL,
    latency_p50_ms       double precision,
    latency_p90_ms       double precision,
    latency_p99_ms       double precision,
    CONSTRAINT analytics_daily_usage_closed_key UNIQUE NULLS NOT DISTINCT (day, plan_id, model, technique_id)
);
ALTER TABLE analytics.rollup_state ADD COLUMN closed_through date;
INSERT INTO analytics.rollup_state (rollup) VALUES ('daily_usage');

-- When each materialized view was last refreshed (mukti_refresh_matviews_v2).
CREATE TABLE analytics.matview_refreshes (
    matview              text NOT NULL,
    refreshed_at         timestamptz NOT NULL,
    duration_ms          numeric NOT NULL,
    CONSTRAINT analytics_matview_refreshes_pkey PRIMARY KEY (matview)
);
