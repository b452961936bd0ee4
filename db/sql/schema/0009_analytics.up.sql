-- Analytics tables that are maintained incrementally (docs/analytics.md, "Design").
-- Nothing here holds an email, a hash or a token.

-- The watermark of each incremental rollup: the highest usage_events.id folded in.
CREATE TABLE analytics.rollup_state (
    rollup               text NOT NULL,
    last_event_id        bigint NOT NULL DEFAULT 0,
    events_processed     bigint NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_rollup_state_pkey PRIMARY KEY (rollup)
);
INSERT INTO analytics.rollup_state (rollup) VALUES ('usage_hourly');

-- Usage events per UTC hour, model, technique and event type. Each event is added once
-- (by mukti_rollup_usage_v1), so the rows outlive the 90-day expiry of the raw events.
CREATE TABLE analytics.usage_hourly (
    hour                 timestamptz NOT NULL,
    model                text NOT NULL,            -- '' when the event named none
    technique_id         uuid,
    event_type           text NOT NULL,
    events               bigint NOT NULL,
    prompt_tokens        bigint NOT NULL,
    completion_tokens    bigint NOT NULL,
    cost                 numeric(18, 6) NOT NULL,
    total_latency_ms     bigint NOT NULL,
    latency_samples      bigint NOT NULL,          -- events that recorded a latency
    CONSTRAINT analytics_usage_hourly_key UNIQUE NULLS NOT DISTINCT (hour, model, technique_id, event_type)
);
