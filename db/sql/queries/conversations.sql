-- Queries of the conversations feature: conversations, questions and the queue.

-- conversations_resolve_technique --
-- The technique a conversation may use, with the version it records: :technique_id when
-- given and visible to :user_id (built-in, approved, or the user's own: their latest
-- version), else the default technique (none may exist yet: no row).
SELECT t.id::text AS id,
       CASE WHEN t.user_id = :user_id::uuid THEN t.latest_version ELSE t.approved_version END AS version
  FROM techniques t
 WHERE t.deleted_at IS NULL
   AND CASE WHEN :technique_id::uuid IS NULL THEN t.is_default
            ELSE t.id = :technique_id::uuid
                 AND (t.is_builtin OR t.status = 'approved' OR t.user_id = :user_id::uuid) END;

-- conversations_create --
-- A conversation created without a title gets a generated one after its first reply.
INSERT INTO conversations (user_id, title, title_source, technique_id, technique_version, model)
VALUES (:user_id::uuid, coalesce(:title, 'New conversation'), CASE WHEN :title IS NULL THEN 'default' ELSE 'user' END,
        :technique_id::uuid, :technique_version, :model)
RETURNING id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at,
          model;

-- conversations_plan_models --
-- The models :user_id's plan allows, the default first (the default plan's without a subscription).
SELECT coalesce((SELECT coalesce(p.models, ARRAY[p.model]) FROM subscriptions s JOIN plans p ON p.id = s.plan_id
                  WHERE s.user_id = :user_id::uuid),
                (SELECT coalesce(models, ARRAY[model]) FROM plans WHERE is_default)) AS models

-- conversations_list --
-- Most recently active first; keyset on conversations_user_activity_idx (:after_at,
-- :after_id = the last row of the previous page, NULL for the first page).
SELECT id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at, model
  FROM conversations
 WHERE user_id = :user_id::uuid
   AND (:after_at::timestamptz IS NULL OR (last_activity_at, id) < (:after_at::timestamptz, :after_id::uuid))
 ORDER BY last_activity_at DESC, id DESC
 LIMIT :limit;

-- conversations_get --
-- One conversation of :user_id with its recent messages (at most 50), ascending by seq.
SELECT c.id::text, c.title, c.technique_id::text, c.technique_version, c.message_count,
       c.last_activity_at, c.created_at, c.model,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                          'seq', m.seq, 'role', m.role, 'content', m.content,
                          'created_at', to_char(m.created_at AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ORDER BY m.seq)
                   FROM recent_messages m WHERE m.conversation_id = c.id), '[]'::jsonb) AS recent_messages
  FROM conversations c
 WHERE c.id = :conversation_id::uuid AND c.user_id = :user_id::uuid;

-- conversations_update --
-- :title or NULL to keep it (a title set here is the user's: never replaced by a
-- generated one); :change_technique = whether to change the technique, to :technique_id
-- (version :technique_version); :change_model = whether to change the model, to :model
-- (NULL = the plan's default).
UPDATE conversations
   SET title = coalesce(:title, title),
       title_source = CASE WHEN :title IS NULL THEN title_source ELSE 'user' END,
       technique_id = CASE WHEN :change_technique THEN :technique_id::uuid ELSE technique_id END,
       technique_version = CASE WHEN :change_technique THEN :technique_version ELSE technique_version END,
       model = CASE WHEN :change_model THEN :model ELSE model END,
       updated_at = now()
 WHERE id = :conversation_id::uuid AND user_id = :user_id::uuid
RETURNING id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at,
          model;

-- conversations_delete --
-- True when the user's conversation was deleted (with the jobs its requests had queued).
SELECT mukti_delete_conversation_v1(:conversation_id::uuid, :user_id::uuid);

-- conversations_submit_question --
-- The hot path: limits, quota, message, request row and job in one call, one round trip:
-- v7 (as v4) scopes its transaction to the user itself (core/database/scope.py SELF_SCOPED).
/* scopes itself */ SELECT outcome, request_id::text, message_seq, queue_position, retry_after_seconds, detail
  FROM mukti_submit_question_v7(:user_id::uuid, :conversation_id::uuid, :content, :burst_limit, :burst_window,
                                :max_attempts, :mode, :seq);

-- conversations_submit_questions --
-- Several of the above in one transaction, of any users (api/conversations/batches.py):
-- each item scopes itself to its user as v7 does; the rows carry `item`, the 1-based
-- place of the question in the arrays.
-- Sent unscoped (Db without for_user): the function refuses a scoped transaction.
SELECT item, outcome, request_id::text, message_seq, queue_position, retry_after_seconds, detail
  FROM mukti_submit_questions_v1(:user_ids::uuid[], :conversation_ids::uuid[], :contents::text[], :modes::text[],
                                 :seqs::integer[], :burst_limit, :burst_window, :max_attempts);

-- conversations_queue_status --
-- A request of :user_id with its position (NULL unless pending), while processing the text
-- of its current attempt so far (the relayed pieces, in order) and, once completed, the
-- reply, which may already have moved to the archive. Also the state the live stream
-- (api/live) starts from and re-reads.
SELECT r.id::text AS request_id, r.status, r.attempts, r.error, r.stopped,
       mukti_queue_position_v1(r.id) AS position,
       r.reply_seq, r.prompt_tokens, r.completion_tokens,
       coalesce(rm.content, (SELECT a.content FROM archived_messages a
                              WHERE a.conversation_id = r.conversation_id AND a.seq = r.reply_seq
                              LIMIT 1)) AS reply_content,
       CASE WHEN r.status = 'processing' THEN
           coalesce((SELECT string_agg(s.content, '' ORDER BY s.start_offset) FROM request_stream_chunks s
                      WHERE s.request_id = r.id AND s.attempt = r.attempts), '') END AS partial
  FROM request_queue r
  LEFT JOIN recent_messages rm ON rm.conversation_id = r.conversation_id AND rm.seq = r.reply_seq
 WHERE r.id = :request_id::uuid AND r.user_id = :user_id::uuid;

-- conversations_cancel_request --
SELECT outcome, status FROM mukti_cancel_request_v1(:user_id::uuid, :request_id::uuid);

-- conversations_poll_requests --
-- The live streams' safety net (api/live/relay.py): where the watched requests stand.
SELECT r.id::text AS request_id, r.status, r.attempts, mukti_queue_position_v1(r.id) AS position
  FROM request_queue r
 WHERE r.id = ANY(:request_ids::uuid[]);

-- conversations_stream_pieces --
-- The relayed text of :attempt of :request_id from character :from_offset on (a live
-- reader catching up after a gap).
SELECT coalesce(string_agg(substr(s.content, greatest(:from_offset - s.start_offset, 0) + 1), ''
                           ORDER BY s.start_offset), '') AS text
  FROM request_stream_chunks s
 WHERE s.request_id = :request_id::uuid AND s.attempt = :attempt
   AND s.start_offset + char_length(s.content) > :from_offset;

-- conversations_admin_queue --
-- The queue at a glance; each part uses a partial index of request_queue.
SELECT coalesce((SELECT jsonb_agg(jsonb_build_object('priority', priority, 'count', n) ORDER BY priority DESC)
                   FROM (SELECT priority, count(*) AS n FROM request_queue
                          WHERE status = 'pending' GROUP BY priority) p), '[]'::jsonb) AS pending_by_priority,
       (SELECT count(*) FROM request_queue WHERE status = 'processing') AS processing,
       (SELECT count(*) FROM request_queue
         WHERE status = 'failed' AND completed_at > now() - interval '24 hours') AS failed_24h,
       (SELECT coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float8
          FROM request_queue WHERE status = 'pending') AS oldest_pending_seconds;
