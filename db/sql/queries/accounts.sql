-- Queries of the accounts feature (auth, /me, billing events) and of /admin/users.

-- accounts_register --
-- One statement, so one transaction: the user, a subscription to the default plan and
-- the first refresh token. A taken email fails on users_email_key (409).
WITH new_user AS (
    INSERT INTO users (email, password_hash, display_name)
    VALUES (:email, :password_hash, :display_name)
    RETURNING id, email, display_name, role, status, preferences, webhook_url, created_at
), new_subscription AS (
    INSERT INTO subscriptions (user_id, plan_id)
    SELECT new_user.id, plans.id FROM new_user, plans WHERE plans.is_default
), new_token AS (
    INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
    SELECT id, gen_random_uuid(), :refresh_token_hash, now() + :refresh_ttl::interval FROM new_user
)
SELECT id::text, email, display_name, role, status, preferences, webhook_url, created_at FROM new_user;

-- accounts_create_admin --
-- The CLI's first admin (never the API): user and default subscription together.
WITH new_user AS (
    INSERT INTO users (email, password_hash, display_name, role)
    VALUES (:email, :password_hash, :display_name, 'admin')
    RETURNING id
), new_subscription AS (
    INSERT INTO subscriptions (user_id, plan_id)
    SELECT new_user.id, plans.id FROM new_user, plans WHERE plans.is_default
)
SELECT id::text FROM new_user;

-- accounts_set_role_by_email --
UPDATE users SET role = :role, updated_at = now()
 WHERE lower(email) = lower(:email) AND status <> 'deleted'
RETURNING id::text;

-- accounts_login_throttle --
SELECT retry_after, hit_ids
  FROM mukti_login_throttle_v1('login', :subjects::text[], :limits::integer[], :window::interval);

-- accounts_register_throttle --
-- The same atomic sliding-window throttle as logins (the function is generic over its
-- action): one hit per subject (keyed client address, and 'all'), reserved before hashing.
SELECT retry_after
  FROM mukti_login_throttle_v1('register', :subjects::text[], :limits::integer[], :window::interval);

-- accounts_forget_throttle_hits --
-- A successful login does not count against the throttle.
DELETE FROM rate_limits WHERE id = ANY(:hit_ids::bigint[]);

-- accounts_user_for_login --
SELECT id::text, email, display_name, role, status, preferences, webhook_url, created_at, password_hash
  FROM users
 WHERE lower(email) = lower(:email);

-- accounts_update_password_hash --
-- Re-hash on login when the Argon2 parameters changed; only if nobody changed it meanwhile.
UPDATE users SET password_hash = :new_hash, updated_at = now() WHERE id = :user_id::uuid AND password_hash = :old_hash;

-- accounts_issue_refresh_token --
-- A new token family (a login session).
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES (:user_id::uuid, gen_random_uuid(), :refresh_token_hash, now() + :refresh_ttl::interval);

-- accounts_rotate_refresh_token --
SELECT outcome, account_id::text, account_role
  FROM mukti_rotate_refresh_token_v1(:token_hash, :refresh_token_hash, :refresh_ttl::interval);

-- accounts_logout --
-- Revokes the session (the token's whole family); unknown tokens are a no-op.
UPDATE refresh_tokens SET revoked_at = now()
 WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = :token_hash)
   AND revoked_at IS NULL;

-- accounts_revoke_user_tokens --
UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = :user_id::uuid AND revoked_at IS NULL;

-- accounts_get_me --
SELECT id::text, email, display_name, role, status, preferences, webhook_url, created_at
  FROM users
 WHERE id = :user_id::uuid;

-- accounts_update_me --
-- :set_display_name, :set_preferences and :set_webhook_url say whether the field was
-- sent; absent fields keep their value.
UPDATE users
   SET display_name = CASE WHEN :set_display_name THEN :display_name ELSE display_name END,
       preferences  = CASE WHEN :set_preferences THEN :preferences::jsonb ELSE preferences END,
       webhook_url  = CASE WHEN :set_webhook_url THEN :webhook_url ELSE webhook_url END,
       updated_at   = now()
 WHERE id = :user_id::uuid AND status = 'active'
RETURNING id::text, email, display_name, role, status, preferences, webhook_url, created_at;

-- accounts_erase --
-- DELETE /me: the account is anonymized and what it wrote erased (mukti_erase_user_v1).
SELECT mukti_erase_user_v1(:user_id::uuid);

-- accounts_subscription --
-- Counters whose window has passed read as 0: the window is over even if no question
-- has reset the row yet. Resets are the end of the current windows.
SELECT s.plan_id AS plan, s.status, p.per_hour, p.per_day, p.per_month, p.tokens_per_month,
       CASE WHEN hour_open THEN s.questions_this_hour ELSE 0 END AS this_hour,
       CASE WHEN day_open THEN s.questions_today ELSE 0 END AS today,
       CASE WHEN day_open THEN s.tokens_today ELSE 0 END AS tokens_today,
       (CASE WHEN day_open THEN s.cost_today ELSE 0 END)::numeric(14, 6) AS cost_today,
       CASE WHEN hour_open THEN s.hour_window_start + interval '1 hour'
            ELSE date_trunc('hour', now()) + interval '1 hour' END AS reset_hour,
       CASE WHEN day_open THEN s.day_window_start + interval '1 day'
            ELSE date_trunc('day', now()) + interval '1 day' END AS reset_day,
       CASE WHEN month_open THEN s.questions_this_month ELSE 0 END AS this_month,
       CASE WHEN month_open THEN s.tokens_this_month ELSE 0 END AS tokens_this_month,
       (date_trunc('month', now(), 'UTC') AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' AS reset_month,
       CASE WHEN s.blocked_until > now() THEN s.blocked_until END AS blocked_until
  FROM subscriptions s
  JOIN plans p ON p.id = s.plan_id
 CROSS JOIN LATERAL (SELECT now() < s.hour_window_start + interval '1 hour' AS hour_open,
                            now() < s.day_window_start + interval '1 day' AS day_open,
                            s.month_window_start = date_trunc('month', now(), 'UTC') AS month_open) AS w
 WHERE s.user_id = :user_id::uuid;

-- accounts_change_plan --
-- Upsert: a user without a subscription gets one. A block from the old plan's limits
-- is lifted; the question flow re-blocks against the new limits if they are reached.
-- Conversations on a model the new plan does not allow move to its default (NULL).
WITH moved AS (
    UPDATE conversations c SET model = NULL, updated_at = now()
     WHERE c.user_id = :user_id::uuid AND c.model IS NOT NULL
       AND NOT c.model = ANY ((SELECT coalesce(p.models, ARRAY[p.model]) FROM plans p WHERE p.id = :plan)::text[])
)
INSERT INTO subscriptions (user_id, plan_id)
VALUES (:user_id::uuid, :plan)
ON CONFLICT ON CONSTRAINT subscriptions_user_key DO UPDATE
   SET plan_id = EXCLUDED.plan_id,
       status = 'active',
       blocked_until = NULL,
       updated_at = now()
RETURNING plan_id;

-- accounts_set_subscription_status --
UPDATE subscriptions SET status = :status, updated_at = now() WHERE user_id = :user_id::uuid
RETURNING plan_id;

-- accounts_default_plan --
SELECT id FROM plans WHERE is_default;

-- accounts_notifications --
-- Newest first, keyset-paged on (created_at, id). :after_at/:after_id: the cursor, or NULLs.
SELECT id::text, kind, title, body, data, created_at, read_at
  FROM notifications
 WHERE user_id = :user_id::uuid
   AND (:after_at::timestamptz IS NULL OR (created_at, id) < (:after_at::timestamptz, :after_id::uuid))
 ORDER BY created_at DESC, id DESC
 LIMIT :limit;

-- accounts_billing_user --
-- The account a billing event is about: by id when the event names one (and then its
-- email, if also given, must match), else by email. Never an arbitrary one of two.
SELECT id::text FROM users
 WHERE status <> 'deleted'
   AND CASE WHEN :user_id::uuid IS NOT NULL
            THEN id = :user_id::uuid AND (:email::text IS NULL OR lower(email) = lower(:email))
            ELSE lower(email) = lower(:email) END;

-- accounts_record_billing_event --
-- Idempotent on the event id: a replay inserts nothing and returns no row.
INSERT INTO billing_events (event_id, provider, event_type, user_id, plan_id, payload)
VALUES (:event_id, :provider, :event_type, :user_id::uuid, :plan, :payload::jsonb)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id;

-- accounts_audit --
INSERT INTO audit_log (actor_id, action, target_type, target_id, details)
VALUES (:actor_id::uuid, :action, :target_type, :target_id, :details::jsonb);

-- accounts_export_profile --
SELECT u.id::text, u.email, u.display_name, u.role, u.status, u.preferences, u.webhook_url,
       u.created_at, u.updated_at
  FROM users u WHERE u.id = :user_id::uuid;

-- accounts_export_conversations --
-- Every conversation with all its messages, recent and archived, merged by seq.
SELECT c.id::text, c.title, c.technique_id::text, c.message_count, c.created_at, c.last_activity_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('seq', m.seq, 'role', m.role, 'content', m.content,
                                                     'created_at', m.created_at) ORDER BY m.seq)
                   FROM (SELECT seq, role, content, created_at FROM recent_messages
                          WHERE conversation_id = c.id
                         UNION ALL
                         SELECT seq, role, content, created_at FROM archived_messages
                          WHERE conversation_id = c.id AND user_id = c.user_id) AS m), '[]'::jsonb) AS messages
  FROM conversations c
 WHERE c.user_id = :user_id::uuid
 ORDER BY c.created_at, c.id;

-- accounts_export_techniques --
SELECT t.id::text, t.name, t.description, t.status, t.created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('version', v.version, 'name', v.name,
                                                     'description', v.description,
                                                     'system_prompt', v.system_prompt,
                                                     'status', v.status, 'created_at', v.created_at)
                                  ORDER BY v.version)
                   FROM technique_versions v WHERE v.technique_id = t.id AND v.user_id = :user_id::uuid),
                '[]'::jsonb) AS versions
  FROM techniques t
 WHERE t.user_id = :user_id::uuid
 ORDER BY t.created_at, t.id;

-- accounts_export_resources --
SELECT id::text, title, url, description, kind, status, created_at
  FROM resources WHERE user_id = :user_id::uuid ORDER BY created_at, id;

-- accounts_export_votes --
SELECT technique_id::text, resource_id::text, value, created_at, updated_at
  FROM votes WHERE user_id = :user_id::uuid ORDER BY created_at, id;

-- accounts_export_shares --
-- Metadata only: never the token hash or the password hash.
SELECT id::text, conversation_id::text, password_hash IS NOT NULL AS password_protected, snapshot_seq,
       expires_at, max_views, view_count, last_viewed_at, revoked_at, created_at
  FROM shared_links WHERE user_id = :user_id::uuid ORDER BY created_at, id;

-- accounts_export_usage --
SELECT day, model, technique_id::text, questions, prompt_tokens, completion_tokens, cost
  FROM daily_usage_aggregates WHERE user_id = :user_id::uuid ORDER BY day, model, technique_id;

-- accounts_export_notifications --
SELECT id::text, kind, title, body, data, created_at, read_at
  FROM notifications WHERE user_id = :user_id::uuid ORDER BY created_at, id;

-- accounts_export_billing_events --
SELECT event_id, provider, event_type, plan_id, received_at
  FROM billing_events WHERE user_id = :user_id::uuid ORDER BY received_at, event_id;

-- accounts_export_sessions --
-- Sign-in sessions (refresh tokens): when, never the token hash.
SELECT id::text, family_id::text, issued_at, expires_at, used_at, revoked_at
  FROM refresh_tokens WHERE user_id = :user_id::uuid ORDER BY issued_at, id;

-- accounts_export_requests --
SELECT id::text, conversation_id::text, message_seq, status, model, attempts, error, queued_at, completed_at
  FROM request_queue WHERE user_id = :user_id::uuid ORDER BY queued_at, id;

-- accounts_export_usage_events --
-- The raw events (kept 90 days); `usage` holds the daily totals.
SELECT occurred_at, event_type, conversation_id::text, request_id::text, model, technique_id::text,
       prompt_tokens, completion_tokens, cost, latency_ms
  FROM usage_events WHERE user_id = :user_id::uuid ORDER BY occurred_at, id;

-- accounts_export_message_versions --
-- Earlier versions of the caller's messages (regenerated replies, edited questions).
SELECT conversation_id::text, seq, version, role, content, created_at, replaced_at
  FROM message_versions WHERE user_id = :user_id::uuid ORDER BY conversation_id, seq, version;

-- accounts_export_feedback --
SELECT conversation_id::text, seq, version, value, comment, model, technique_id::text, created_at, updated_at
  FROM message_feedback WHERE user_id = :user_id::uuid ORDER BY created_at, conversation_id, seq;

-- accounts_export_share_views --
-- Views of the caller's shares: when and from which site, never the visitor's hash.
SELECT shared_link_id::text, viewed_at, referrer
  FROM shared_link_views WHERE user_id = :user_id::uuid ORDER BY viewed_at, id;

-- accounts_export_webhook_deliveries --
SELECT id::text, event, url, payload, status, attempts, last_status_code, last_error, created_at, delivered_at
  FROM webhook_deliveries WHERE user_id = :user_id::uuid ORDER BY created_at, id;

-- accounts_export_rate_limits --
-- Hits still counted by the limits (the subject is the user id for these rows).
SELECT action, hit_at, expires_at FROM rate_limits WHERE user_id = :user_id::uuid ORDER BY hit_at, id;

-- admin_users_list --
-- Newest first, keyset-paged on (created_at, id); :q filters email and display name
-- (a substring, LIKE wildcards already escaped).
SELECT u.id::text, u.email, u.display_name, u.role, u.status, s.plan_id AS plan, u.created_at, u.deleted_at
  FROM users u
  LEFT JOIN subscriptions s ON s.user_id = u.id
 WHERE (:q::text IS NULL OR u.email ILIKE '%' || :q || '%' OR u.display_name ILIKE '%' || :q || '%')
   AND (:after_at::timestamptz IS NULL OR (u.created_at, u.id) < (:after_at::timestamptz, :after_id::uuid))
 ORDER BY u.created_at DESC, u.id DESC
 LIMIT :limit;

-- admin_users_get_for_update --
SELECT id::text, role, status FROM users WHERE id = :user_id::uuid AND status <> 'deleted' FOR UPDATE;

-- admin_users_update --
UPDATE users
   SET role = coalesce(:role, role), status = coalesce(:status, status), updated_at = now()
 WHERE id = :user_id::uuid
RETURNING id::text, email, display_name, role, status, created_at, deleted_at,
          (SELECT plan_id FROM subscriptions WHERE user_id = users.id) AS plan;

-- accounts_authenticate --
-- The hottest query of all: every authenticated request but asking loads its user (by
-- primary key) to check that the account is still active and read its current role.
SELECT id::text, role, email, status FROM users WHERE id = :user_id::uuid;
