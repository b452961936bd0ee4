-- Dialogue (API.md "Dialogue"): versions of messages, feedback on replies, generated
-- titles, per-conversation model choice, monthly limits, follow-ups.

-- Earlier versions of a message: a regenerated reply or an edited question. The current
-- version stays where it is (recent_messages or archived_messages: history and search
-- see it only); the versions it replaced are kept here, numbered from 1.
CREATE TABLE message_versions (
    conversation_id      uuid NOT NULL,
    seq                  integer NOT NULL,
    version              integer NOT NULL,
    user_id              uuid NOT NULL,
    role                 text NOT NULL,
    content              text NOT NULL,
    created_at           timestamptz NOT NULL,   -- when this version was written
    replaced_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_versions_pkey PRIMARY KEY (conversation_id, seq, version, user_id),
    CONSTRAINT message_versions_conversation_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT message_versions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT message_versions_role_valid CHECK (role IN ('user', 'assistant')),
    CONSTRAINT message_versions_version_positive CHECK (version >= 1)
);
CREATE INDEX message_versions_user_idx ON message_versions (user_id);

-- Feedback on a reply: one per user per message version. Model and technique are kept
-- with it (the request rows that name them expire), for helpfulness per technique/model.
CREATE TABLE message_feedback (
    conversation_id      uuid NOT NULL,
    seq                  integer NOT NULL,
    version              integer NOT NULL,
    user_id              uuid NOT NULL,
    value                smallint NOT NULL,
    comment              text,
    model                text,
    technique_id         uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT message_feedback_pkey PRIMARY KEY (conversation_id, seq, version, user_id),
    CONSTRAINT message_feedback_conversation_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT message_feedback_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT message_feedback_technique_fkey FOREIGN KEY (technique_id) REFERENCES techniques (id) ON DELETE SET NULL,
    CONSTRAINT message_feedback_value_valid CHECK (value IN (-1, 1)),
    CONSTRAINT message_feedback_comment_length CHECK (char_length(comment) <= 2000)
);
CREATE INDEX message_feedback_user_idx ON message_feedback (user_id);
CREATE INDEX message_feedback_technique_idx ON message_feedback (technique_id, created_at);

-- Where a conversation's title came from: a title the user set is never overwritten by
-- a generated one ('pending': a title job is queued). Existing rows count as the user's.
-- The check is validated outside this transaction (0017_dialogue.py): no write-blocking scan.
ALTER TABLE conversations ADD COLUMN title_source text NOT NULL DEFAULT 'user',
    ADD CONSTRAINT conversations_title_source_valid
        CHECK (title_source IN ('default', 'pending', 'user', 'generated')) NOT VALID;
ALTER TABLE conversations ALTER COLUMN title_source SET DEFAULT 'default';
-- The model this conversation asks with (one its plan allows); NULL = the plan's default.
ALTER TABLE conversations ADD COLUMN model text;
-- The last time a follow-up was added (at most one per idle period).
ALTER TABLE conversations ADD COLUMN follow_up_at timestamptz;

-- Plans: the models they allow (the first is the default; NULL = the default `model`
-- only) and monthly limits (NULL = unlimited). `model` stays the default.
ALTER TABLE plans ADD COLUMN models text[], ADD COLUMN per_month integer, ADD COLUMN tokens_per_month bigint;
-- plans is a small reference table (a handful of rows): its checks are validated at once.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE plans ADD CONSTRAINT plans_monthly_limits_positive CHECK (per_month > 0 AND tokens_per_month > 0);
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE plans ADD CONSTRAINT plans_models_default CHECK (cardinality(models) >= 1 AND models[1] = model);
-- The built-in paid plan may also ask with the free plan's model.
UPDATE plans SET models = ARRAY['gpt-4o', 'gpt-4o-mini'] WHERE id = 'paid' AND model = 'gpt-4o' AND models IS NULL;

-- Subscriptions: this month's counters (fixed UTC calendar month, as the limits are).
ALTER TABLE subscriptions ADD COLUMN month_window_start timestamptz,
    ADD COLUMN questions_this_month integer NOT NULL DEFAULT 0,
    ADD COLUMN tokens_this_month bigint NOT NULL DEFAULT 0;

-- Requests: what kind of answer they ask for. 'answer' adds a reply to question
-- `message_seq`; 'regenerate' writes a new version of reply `target_seq` (asked again,
-- or after an edit of the question `message_seq` before it). Only answers are unique per
-- question and reply (request_queue_answer_*_key, built concurrently by the migration).
ALTER TABLE request_queue ADD COLUMN kind text NOT NULL DEFAULT 'answer',
    ADD COLUMN target_seq integer,
    ADD CONSTRAINT request_queue_kind_valid CHECK (kind IN ('answer', 'regenerate')) NOT VALID,
    ADD CONSTRAINT request_queue_target_seq_valid CHECK ((kind = 'regenerate') = (target_seq IS NOT NULL)) NOT VALID;

-- Follow-ups are usage events of their own (paid by the system, counted in analytics).
-- The wider check replaces the old one at once; it is added NOT VALID and validated
-- outside this transaction (0017_dialogue.py) without blocking writers.
-- squawk-ignore ban-drop-constraint
ALTER TABLE usage_events DROP CONSTRAINT usage_events_type_valid;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_type_valid CHECK (event_type IN (
    'question', 'answer', 'attempt_failed', 'failure', 'cancelled', 'limit_reached', 'follow_up')) NOT VALID;
