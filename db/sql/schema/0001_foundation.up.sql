-- Mukti foundation schema: the twelve entities of seed 000 and the tables they need.
-- Conventions: every constraint and index is named (errors are mapped by name in
-- api/errors.py); every user-owned row carries user_id; time is timestamptz (UTC);
-- money is numeric.

CREATE SCHEMA IF NOT EXISTS analytics;

-- Reference data ------------------------------------------------------------

CREATE TABLE plans (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    per_hour             integer NOT NULL,
    per_day              integer NOT NULL,
    priority             integer NOT NULL,
    model                text NOT NULL,
    price_per_month      numeric(12, 2) NOT NULL DEFAULT 0,
    is_default           boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plans_id_format CHECK (id ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT plans_limits_positive CHECK (per_hour > 0 AND per_day >= per_hour),
    CONSTRAINT plans_priority_range CHECK (priority BETWEEN 0 AND 1000),
    CONSTRAINT plans_price_nonnegative CHECK (price_per_month >= 0)
);
CREATE UNIQUE INDEX plans_one_default_key ON plans (is_default) WHERE is_default;

-- Price of each model, per 1,000 tokens; the newest row at a time applies.
CREATE TABLE model_prices (
    model                text NOT NULL,
    effective_from       timestamptz NOT NULL DEFAULT '2000-01-01T00:00:00Z',
    prompt_per_1k        numeric(12, 6) NOT NULL,
    completion_per_1k    numeric(12, 6) NOT NULL,
    CONSTRAINT model_prices_pkey PRIMARY KEY (model, effective_from),
    CONSTRAINT model_prices_nonnegative CHECK (prompt_per_1k >= 0 AND completion_per_1k >= 0)
);

-- 1. Users ------------------------------------------------------------------

CREATE TABLE users (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text NOT NULL,
    password_hash        text,
    display_name         text,
    role                 text NOT NULL DEFAULT 'user',
    status               text NOT NULL DEFAULT 'active',
    preferences          jsonb NOT NULL DEFAULT '{}'::jsonb,
    webhook_url          text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    CONSTRAINT users_role_valid CHECK (role IN ('user', 'moderator', 'admin')),
    CONSTRAINT users_status_valid CHECK (status IN ('active', 'suspended', 'deleted')),
    CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 320),
    CONSTRAINT users_display_name_length CHECK (char_length(display_name) <= 100),
    CONSTRAINT users_preferences_object CHECK (jsonb_typeof(preferences) = 'object'),
    CONSTRAINT users_deleted_consistent CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
-- Emails are unique case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_at_idx ON users (created_at);

CREATE TABLE refresh_tokens (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    family_id            uuid NOT NULL,
    token_hash           bytea NOT NULL,
    issued_at            timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    used_at              timestamptz,
    revoked_at           timestamptz,
    CONSTRAINT refresh_tokens_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_expiry_after_issue CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- 2. Subscriptions ----------------------------------------------------------

CREATE TABLE subscriptions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    plan_id              text NOT NULL,
    status               text NOT NULL DEFAULT 'active',
    -- Usage counters, moved atomically with the request queue and the usage events.
    hour_window_start    timestamptz NOT NULL DEFAULT date_trunc('hour', now()),
    questions_this_hour  integer NOT NULL DEFAULT 0,
    day_window_start     timestamptz NOT NULL DEFAULT date_trunc('day', now()),
    questions_today      integer NOT NULL DEFAULT 0,
    tokens_today         bigint NOT NULL DEFAULT 0,
    cost_today           numeric(14, 6) NOT NULL DEFAULT 0,
    blocked_until        timestamptz,
    -- Payment-provider agnostic billing references.
    provider             text,
    provider_customer_id text,
    current_period_start timestamptz NOT NULL DEFAULT now(),
    current_period_end   timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT subscriptions_plan_fkey FOREIGN KEY (plan_id) REFERENCES plans (id) ON DELETE RESTRICT,
    CONSTRAINT subscriptions_user_key UNIQUE (user_id),
    CONSTRAINT subscriptions_status_valid CHECK (status IN ('active', 'past_due', 'canceled')),
    CONSTRAINT subscriptions_counters_nonnegative CHECK (
        questions_this_hour >= 0 AND questions_today >= 0 AND tokens_today >= 0 AND cost_today >= 0)
);
CREATE INDEX subscriptions_plan_idx ON subscriptions (plan_id);

CREATE TABLE billing_events (
    event_id             text PRIMARY KEY,
    provider             text NOT NULL DEFAULT 'generic',
    event_type           text NOT NULL,
    user_id              uuid,
    plan_id              text,
    payload              jsonb NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT billing_events_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT billing_events_plan_fkey FOREIGN KEY (plan_id) REFERENCES plans (id) ON DELETE RESTRICT,
    CONSTRAINT billing_events_event_id_length CHECK (char_length(event_id) BETWEEN 1 AND 200)
);
CREATE INDEX billing_events_user_idx ON billing_events (user_id);

-- 6. Techniques (community table: reference-table ready) -------------------

CREATE TABLE techniques (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid,                     -- author; NULL for built-ins
    slug                 text,
    name                 text NOT NULL,
    description          text NOT NULL DEFAULT '',
    is_builtin           boolean NOT NULL DEFAULT false,
    is_default           boolean NOT NULL DEFAULT false,
    status               text NOT NULL DEFAULT 'pending',
    latest_version       integer NOT NULL DEFAULT 1,
    approved_version     integer,                  -- the version others see
    rejection_reason     text,
    upvotes              integer NOT NULL DEFAULT 0,
    downvotes            integer NOT NULL DEFAULT 0,
    score                double precision NOT NULL DEFAULT 0,  -- Wilson lower bound, for sort=top
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    CONSTRAINT techniques_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT techniques_status_valid CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT techniques_name_length CHECK (char_length(name) BETWEEN 1 AND 120),
    CONSTRAINT techniques_votes_nonnegative CHECK (upvotes >= 0 AND downvotes >= 0),
    CONSTRAINT techniques_builtin_approved CHECK (NOT is_builtin OR status = 'approved'),
    CONSTRAINT techniques_default_builtin CHECK (NOT is_default OR is_builtin),
    CONSTRAINT techniques_versions_valid CHECK (
        latest_version >= 1 AND (approved_version IS NULL OR approved_version BETWEEN 1 AND latest_version))
);
CREATE UNIQUE INDEX techniques_slug_key ON techniques (slug) WHERE slug IS NOT NULL;
CREATE UNIQUE INDEX techniques_one_default_key ON techniques (is_default) WHERE is_default;
CREATE INDEX techniques_user_idx ON techniques (user_id);
CREATE INDEX techniques_top_idx ON techniques (score DESC, id) WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX techniques_new_idx ON techniques (created_at DESC, id) WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX techniques_pending_idx ON techniques (created_at) WHERE status = 'pending';

CREATE TABLE technique_versions (
    technique_id         uuid NOT NULL,
    version              integer NOT NULL,
    user_id              uuid,                     -- who wrote this version
    name                 text NOT NULL,
    description          text NOT NULL DEFAULT '',
    system_prompt        text NOT NULL,
    questioning_style    text NOT NULL DEFAULT '',
    status               text NOT NULL DEFAULT 'pending',
    rejection_reason     text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT technique_versions_pkey PRIMARY KEY (technique_id, version),
    CONSTRAINT technique_versions_technique_fkey FOREIGN KEY (technique_id) REFERENCES techniques (id) ON DELETE CASCADE,
    CONSTRAINT technique_versions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT technique_versions_status_valid CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT technique_versions_version_positive CHECK (version >= 1),
    CONSTRAINT technique_versions_prompt_length CHECK (char_length(system_prompt) BETWEEN 1 AND 20000)
);

-- 5. Resources ---------------------------------------------------------------

CREATE TABLE resources (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid,                     -- author
    title                text NOT NULL,
    url                  text NOT NULL,
    description          text NOT NULL DEFAULT '',
    kind                 text NOT NULL,
    status               text NOT NULL DEFAULT 'pending',
    rejection_reason     text,
    upvotes              integer NOT NULL DEFAULT 0,
    downvotes            integer NOT NULL DEFAULT 0,
    score                double precision NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    CONSTRAINT resources_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT resources_status_valid CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT resources_kind_valid CHECK (kind IN ('article', 'book', 'video', 'course', 'paper', 'podcast', 'tool', 'other')),
    CONSTRAINT resources_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT resources_url_format CHECK (url ~ '^https?://[^\s/$.?#][^\s]*$' AND char_length(url) <= 2048),
    CONSTRAINT resources_votes_nonnegative CHECK (upvotes >= 0 AND downvotes >= 0)
);
CREATE INDEX resources_user_idx ON resources (user_id);
CREATE INDEX resources_top_idx ON resources (score DESC, id) WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX resources_new_idx ON resources (created_at DESC, id) WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX resources_pending_idx ON resources (created_at) WHERE status = 'pending';

-- 7. Votes: one per user per target, enforced by unique constraints -----------

CREATE TABLE votes (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              uuid NOT NULL,
    technique_id         uuid,
    resource_id          uuid,
    value                smallint NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT votes_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT votes_technique_fkey FOREIGN KEY (technique_id) REFERENCES techniques (id) ON DELETE CASCADE,
    CONSTRAINT votes_resource_fkey FOREIGN KEY (resource_id) REFERENCES resources (id) ON DELETE CASCADE,
    CONSTRAINT votes_one_target CHECK (num_nonnulls(technique_id, resource_id) = 1),
    CONSTRAINT votes_value_valid CHECK (value IN (-1, 1)),
    CONSTRAINT votes_user_technique_key UNIQUE (user_id, technique_id),
    CONSTRAINT votes_user_resource_key UNIQUE (user_id, resource_id)
);
CREATE INDEX votes_technique_idx ON votes (technique_id) WHERE technique_id IS NOT NULL;
CREATE INDEX votes_resource_idx ON votes (resource_id) WHERE resource_id IS NOT NULL;

-- 3. Conversations and their recent messages --------------------------------

CREATE TABLE conversations (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    title                text NOT NULL DEFAULT 'New conversation',
    technique_id         uuid,
    technique_version    integer,
    message_count        integer NOT NULL DEFAULT 0,  -- = the highest seq
    archived_count       integer NOT NULL DEFAULT 0,  -- messages 1..archived_count are archived
    last_activity_at     timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT conversations_technique_fkey FOREIGN KEY (technique_id) REFERENCES techniques (id) ON DELETE SET NULL,
    CONSTRAINT conversations_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT conversations_counts_valid CHECK (message_count >= 0 AND archived_count BETWEEN 0 AND message_count)
);
-- "Most recently active first", per user, with a keyset tiebreaker.
CREATE INDEX conversations_user_activity_idx ON conversations (user_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_technique_idx ON conversations (technique_id);

-- The most recent messages of each conversation (at most 50 after every commit).
CREATE TABLE recent_messages (
    conversation_id      uuid NOT NULL,
    seq                  integer NOT NULL,
    user_id              uuid NOT NULL,
    role                 text NOT NULL,
    content              text NOT NULL,
    request_id           uuid,           -- the request that this message asked or answered
    ts_config            regconfig NOT NULL DEFAULT 'english',
    search               tsvector GENERATED ALWAYS AS (to_tsvector(ts_config, content)) STORED,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recent_messages_pkey PRIMARY KEY (conversation_id, seq),
    CONSTRAINT recent_messages_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT recent_messages_role_valid CHECK (role IN ('user', 'assistant', 'system')),
    CONSTRAINT recent_messages_seq_positive CHECK (seq >= 1),
    CONSTRAINT recent_messages_content_length CHECK (char_length(content) BETWEEN 1 AND 100000)
);
-- At most one assistant reply per request while it is recent (the request row
-- guards the archived case: see request_queue.reply_seq).
CREATE UNIQUE INDEX recent_messages_reply_key ON recent_messages (request_id) WHERE role = 'assistant';
CREATE INDEX recent_messages_user_idx ON recent_messages (user_id);
CREATE INDEX recent_messages_search_idx ON recent_messages USING gin (search);

-- 4. Archived messages: range-partitioned by month ---------------------------

CREATE TABLE archived_messages (
    conversation_id      uuid NOT NULL,
    seq                  integer NOT NULL,
    user_id              uuid NOT NULL,
    role                 text NOT NULL,
    content              text NOT NULL,
    request_id           uuid,
    ts_config            regconfig NOT NULL DEFAULT 'english',
    search               tsvector GENERATED ALWAYS AS (to_tsvector(ts_config, content)) STORED,
    created_at           timestamptz NOT NULL,
    archived_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT archived_messages_pkey PRIMARY KEY (conversation_id, seq, created_at),
    CONSTRAINT archived_messages_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT archived_messages_role_valid CHECK (role IN ('user', 'assistant', 'system')),
    CONSTRAINT archived_messages_seq_positive CHECK (seq >= 1)
) PARTITION BY RANGE (created_at);
CREATE INDEX archived_messages_user_idx ON archived_messages (user_id, created_at);
CREATE INDEX archived_messages_search_idx ON archived_messages USING gin (search);
CREATE TABLE archived_messages_default PARTITION OF archived_messages DEFAULT;

-- 8. Shared links ------------------------------------------------------------

CREATE TABLE shared_links (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    conversation_id      uuid NOT NULL,
    token_hash           bytea NOT NULL,
    password_hash        text,
    snapshot_seq         integer NOT NULL,        -- the share shows messages 1..snapshot_seq
    expires_at           timestamptz NOT NULL,
    max_views            integer NOT NULL DEFAULT 100,
    view_count           integer NOT NULL DEFAULT 0,
    last_viewed_at       timestamptz,
    revoked_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shared_links_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT shared_links_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT shared_links_token_hash_key UNIQUE (token_hash),
    CONSTRAINT shared_links_views_valid CHECK (max_views >= 1 AND view_count BETWEEN 0 AND max_views),
    CONSTRAINT shared_links_expiry_valid CHECK (expires_at > created_at),
    CONSTRAINT shared_links_snapshot_valid CHECK (snapshot_seq >= 0)
);
CREATE INDEX shared_links_conversation_idx ON shared_links (conversation_id);
CREATE INDEX shared_links_user_idx ON shared_links (user_id);

CREATE TABLE shared_link_views (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shared_link_id       uuid NOT NULL,
    user_id              uuid NOT NULL,            -- the link owner (tenant key)
    viewed_at            timestamptz NOT NULL DEFAULT now(),
    referrer             text,                     -- host only, never the full URL
    visitor_hash         bytea,                    -- keyed hash of the address, never the address
    CONSTRAINT shared_link_views_link_fkey FOREIGN KEY (shared_link_id) REFERENCES shared_links (id) ON DELETE CASCADE
);
CREATE INDEX shared_link_views_link_idx ON shared_link_views (shared_link_id, viewed_at);

-- 11. Request queue ----------------------------------------------------------

CREATE TABLE request_queue (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    conversation_id      uuid NOT NULL,
    message_seq          integer NOT NULL,        -- the question
    plan_id              text NOT NULL,
    model                text NOT NULL,
    priority             integer NOT NULL,
    status               text NOT NULL DEFAULT 'pending',
    attempts             integer NOT NULL DEFAULT 0,
    max_attempts         integer NOT NULL DEFAULT 3,
    job_id               bigint,                  -- procrastinate_jobs.id
    queued_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at           timestamptz,
    completed_at         timestamptz,
    next_attempt_at      timestamptz,
    reply_seq            integer,                 -- the answer: at most one per request
    prompt_tokens        integer,
    completion_tokens    integer,
    error                text,
    CONSTRAINT request_queue_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT request_queue_conversation_fkey FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT request_queue_plan_fkey FOREIGN KEY (plan_id) REFERENCES plans (id) ON DELETE RESTRICT,
    CONSTRAINT request_queue_status_valid CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    CONSTRAINT request_queue_attempts_valid CHECK (attempts >= 0 AND max_attempts >= 1),
    CONSTRAINT request_queue_completed_has_reply CHECK ((status = 'completed') = (reply_seq IS NOT NULL)),
    CONSTRAINT request_queue_message_key UNIQUE (conversation_id, message_seq),
    CONSTRAINT request_queue_reply_key UNIQUE (conversation_id, reply_seq)
);
-- Position in the queue: pending rows in fetch order (priority first, then age).
CREATE INDEX request_queue_pending_order_idx ON request_queue (priority DESC, queued_at, id) WHERE status = 'pending';
CREATE INDEX request_queue_user_idx ON request_queue (user_id, queued_at DESC);
CREATE INDEX request_queue_job_idx ON request_queue (job_id);
CREATE INDEX request_queue_processing_idx ON request_queue (started_at) WHERE status = 'processing';

-- 12. Rate limits: sliding-window log, one row per counted hit ----------------

CREATE TABLE rate_limits (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action               text NOT NULL,           -- 'question', 'login', 'share_password', ...
    subject              text NOT NULL,           -- user id, or a keyed hash of an email or address
    user_id              uuid,
    hit_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at           timestamptz NOT NULL,
    CONSTRAINT rate_limits_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT rate_limits_action_format CHECK (action ~ '^[a-z_]+$'),
    CONSTRAINT rate_limits_expiry_after_hit CHECK (expires_at > hit_at)
);
CREATE INDEX rate_limits_window_idx ON rate_limits (action, subject, hit_at);
CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at);

-- 9. Usage events: range-partitioned by day, expired by dropping partitions ---

CREATE TABLE usage_events (
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    user_id              uuid NOT NULL,
    occurred_at          timestamptz NOT NULL DEFAULT now(),
    event_type           text NOT NULL DEFAULT 'question',
    conversation_id      uuid,
    request_id           uuid,
    model                text,
    technique_id         uuid,
    prompt_tokens        integer NOT NULL DEFAULT 0,
    completion_tokens    integer NOT NULL DEFAULT 0,
    cost                 numeric(14, 6) NOT NULL DEFAULT 0,
    latency_ms           integer,
    CONSTRAINT usage_events_pkey PRIMARY KEY (id, occurred_at),
    CONSTRAINT usage_events_type_valid CHECK (event_type IN ('question', 'answer', 'failure', 'limit_reached')),
    CONSTRAINT usage_events_tokens_nonnegative CHECK (prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX usage_events_user_time_idx ON usage_events (user_id, occurred_at);
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;

-- 10. Daily usage aggregates: durable, survive the expiry of raw events --------

CREATE TABLE daily_usage_aggregates (
    user_id              uuid NOT NULL,
    day                  date NOT NULL,
    model                text NOT NULL DEFAULT '',
    technique_id         uuid,
    questions            integer NOT NULL DEFAULT 0,
    prompt_tokens        bigint NOT NULL DEFAULT 0,
    completion_tokens    bigint NOT NULL DEFAULT 0,
    cost                 numeric(16, 6) NOT NULL DEFAULT 0,
    total_latency_ms     bigint NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_usage_aggregates_key UNIQUE NULLS NOT DISTINCT (user_id, day, model, technique_id),
    CONSTRAINT daily_usage_aggregates_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT daily_usage_aggregates_nonnegative CHECK (
        questions >= 0 AND prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0)
);
CREATE INDEX daily_usage_aggregates_day_idx ON daily_usage_aggregates (day);

-- Supporting tables ----------------------------------------------------------

CREATE TABLE notifications (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL,
    kind                 text NOT NULL,
    title                text NOT NULL,
    body                 text NOT NULL DEFAULT '',
    data                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    read_at              timestamptz,
    CONSTRAINT notifications_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT notifications_kind_valid CHECK (kind ~ '^[a-z_]+$')
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);

CREATE TABLE audit_log (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id             uuid,
    action               text NOT NULL,
    target_type          text NOT NULL,
    target_id            text NOT NULL,
    details              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_actor_fkey FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, created_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at);
