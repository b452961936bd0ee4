-- Dialogue (API.md "Dialogue"): export, versions, feedback, titles, follow-ups.

-- dialogue_export_head --
-- The caller's conversation with its technique's name; no row when it is not theirs.
SELECT c.id::text AS id, c.title, c.message_count, c.created_at, c.model,
       t.name AS technique
  FROM conversations c
  LEFT JOIN techniques t ON t.id = c.technique_id
 WHERE c.id = :conversation_id AND c.user_id = :user_id

-- dialogue_export_messages --
-- Every message of :conversation_id (of :user_id), recent and archived, ascending by seq.
-- user_id in both branches keeps the archive scan on the user's own rows.
SELECT seq, role, content, created_at
  FROM recent_messages
 WHERE conversation_id = :conversation_id AND user_id = :user_id
UNION ALL
SELECT seq, role, content, created_at
  FROM archived_messages
 WHERE conversation_id = :conversation_id AND user_id = :user_id
ORDER BY seq

-- dialogue_message --
-- Message :seq of the caller's (:user_id) :conversation_id as it is now, with its version
-- number (1 + the versions it replaced) and, for a reply, the model and technique that made it.
WITH m AS (
    SELECT seq, role, content, created_at, request_id FROM recent_messages
     WHERE conversation_id = :conversation_id AND seq = :seq AND user_id = :user_id
    UNION ALL
    SELECT seq, role, content, created_at, request_id FROM archived_messages
     WHERE conversation_id = :conversation_id AND seq = :seq AND user_id = :user_id
)
SELECT m.seq, m.role, m.content, m.created_at,
       1 + (SELECT count(*) FROM message_versions v
             WHERE v.conversation_id = :conversation_id AND v.seq = :seq)::integer AS version,
       q.model, c.technique_id
  FROM m
  JOIN conversations c ON c.id = :conversation_id
  LEFT JOIN request_queue q ON q.id = m.request_id
 LIMIT 1

-- dialogue_versions --
-- Every version of message :seq, oldest first: the replaced ones, then the current one.
SELECT version, content, created_at FROM message_versions
 WHERE conversation_id = :conversation_id AND seq = :seq AND user_id = :user_id
UNION ALL
SELECT 1 + (SELECT count(*) FROM message_versions v
             WHERE v.conversation_id = :conversation_id AND v.seq = :seq)::integer,
       content, created_at
  FROM (SELECT content, created_at FROM recent_messages
         WHERE conversation_id = :conversation_id AND seq = :seq AND user_id = :user_id
        UNION ALL
        SELECT content, created_at FROM archived_messages
         WHERE conversation_id = :conversation_id AND seq = :seq AND user_id = :user_id
        LIMIT 1) cur
ORDER BY 1

-- dialogue_put_feedback --
-- One feedback per user per message version: PUT again replaces it.
INSERT INTO message_feedback AS f (conversation_id, seq, version, user_id, value, comment, model, technique_id)
VALUES (:conversation_id, :seq, :version, :user_id, :value, :comment, :model, :technique_id)
ON CONFLICT ON CONSTRAINT message_feedback_pkey DO UPDATE
   SET value = excluded.value, comment = excluded.comment, updated_at = now()
RETURNING version, value, comment, updated_at

-- dialogue_delete_feedback --
DELETE FROM message_feedback
 WHERE conversation_id = :conversation_id AND seq = :seq AND version = :version AND user_id = :user_id
RETURNING 1

-- dialogue_title_context --
-- What a title is made from: the first question and the first reply, while the
-- conversation waits for a generated title (else no row: nothing to do).
SELECT c.user_id, c.model,
       (SELECT content FROM recent_messages r WHERE r.conversation_id = c.id AND r.role = 'user'
         ORDER BY seq LIMIT 1) AS question,
       (SELECT content FROM recent_messages r WHERE r.conversation_id = c.id AND r.role = 'assistant'
         ORDER BY seq LIMIT 1) AS reply,
       p.model AS plan_model
  FROM conversations c
  JOIN subscriptions s ON s.user_id = c.user_id
  JOIN plans p ON p.id = s.plan_id
 WHERE c.id = :conversation_id AND c.title_source = 'pending'

-- dialogue_set_generated_title --
-- Never over a title the user set meanwhile.
UPDATE conversations SET title = :title, title_source = 'generated', updated_at = now()
 WHERE id = :conversation_id AND title_source = 'pending'
RETURNING 1

-- dialogue_claim_follow_ups --
-- Claim up to :limit conversations due for a follow-up: the learner opted in
-- (preferences.follow_ups = {enabled: true, after_days: N}), is active, has been idle for
-- N days and has not answered the last question (the conversation ends with a reply),
-- and no follow-up was sent since they were last active. The claim (follow_up_at) is
-- taken under SKIP LOCKED and re-checked by the UPDATE, so concurrent runs never claim
-- one conversation twice. Follow-ups do not count as activity: one per idle period.
WITH due AS (
    SELECT c.id
      FROM users u
      JOIN conversations c ON c.user_id = u.id
     WHERE (u.preferences -> 'follow_ups' ->> 'enabled') = 'true'
       AND u.status = 'active'
       AND jsonb_typeof(u.preferences -> 'follow_ups' -> 'after_days') = 'number'
       AND c.last_activity_at < clock_timestamp()
           - make_interval(days => least(greatest((u.preferences -> 'follow_ups' ->> 'after_days')::numeric, 1), 365)::integer)
       AND (c.follow_up_at IS NULL OR c.follow_up_at < c.last_activity_at)
       AND EXISTS (SELECT 1 FROM recent_messages m
                    WHERE m.conversation_id = c.id AND m.seq = c.message_count AND m.role = 'assistant')
     ORDER BY c.last_activity_at
     LIMIT :limit
       FOR UPDATE OF c SKIP LOCKED
)
UPDATE conversations c SET follow_up_at = clock_timestamp()
  FROM due
 WHERE c.id = due.id AND (c.follow_up_at IS NULL OR c.follow_up_at < c.last_activity_at)
RETURNING c.id::text AS conversation_id

-- dialogue_follow_up_context --
-- What a follow-up is made from: the technique's prompt, the learner, the days idle and
-- the last 20 messages (oldest first), for a claimed conversation.
SELECT c.user_id::text AS user_id, p.model AS plan_model, c.model,
       tv.system_prompt, tv.questioning_style, u.display_name, u.preferences::text AS preferences,
       floor(extract(epoch FROM clock_timestamp() - c.last_activity_at) / 86400)::integer AS days_idle,
       (SELECT coalesce(json_agg(json_build_object('role', m.role, 'content', m.content) ORDER BY m.seq), '[]')
          FROM (SELECT seq, role, content FROM recent_messages r
                 WHERE r.conversation_id = c.id ORDER BY seq DESC LIMIT 20) m)::text AS messages
  FROM conversations c
  JOIN users u ON u.id = c.user_id
  JOIN subscriptions s ON s.user_id = c.user_id
  JOIN plans p ON p.id = s.plan_id
  LEFT JOIN techniques t ON t.id = c.technique_id
  LEFT JOIN technique_versions tv
         ON tv.technique_id = t.id AND tv.version = coalesce(c.technique_version, t.approved_version, t.latest_version)
 WHERE c.id = :conversation_id

-- dialogue_add_follow_up --
SELECT mukti_add_follow_up_v1(:conversation_id, :content, :model, :prompt_tokens, :completion_tokens) AS seq

-- dialogue_release_follow_up --
-- The follow-up could not be made: the conversation may be claimed again by a later run.
UPDATE conversations SET follow_up_at = NULL WHERE id = :conversation_id

-- dialogue_follow_ups_today --
-- Follow-ups sent today (UTC): they are paid by the system's daily budget.
SELECT count(*)::integer FROM notifications
 WHERE kind = 'follow_up' AND created_at >= date_trunc('day', clock_timestamp(), 'UTC')
