-- Queries of the conversations feature: conversations, questions and the queue.

-- conversations_resolve_technique --
-- The technique a conversation may use, with the version it records: $2 when given and
-- visible to user $1 (built-in, approved, or the user's own: their latest version), else
-- the default technique (none may exist yet: no row).
SELECT t.id::text AS id,
       CASE WHEN t.user_id = $1::uuid THEN t.latest_version ELSE t.approved_version END AS version
  FROM techniques t
 WHERE t.deleted_at IS NULL
   AND CASE WHEN $2::uuid IS NULL THEN t.is_default
            ELSE t.id = $2::uuid AND (t.is_builtin OR t.status = 'approved' OR t.user_id = $1::uuid) END;

-- conversations_create --
-- A conversation created without a title gets a generated one after its first reply.
INSERT INTO conversations (user_id, title, title_source, technique_id, technique_version, model)
VALUES ($1::uuid, coalesce($2, 'New conversation'), CASE WHEN $2 IS NULL THEN 'default' ELSE 'user' END,
        $3::uuid, $4, $5)
RETURNING id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at,
          model;

-- conversations_plan_models --
-- The models user $1's plan allows, the default first (the default plan's without a subscription).
SELECT coalesce((SELECT coalesce(p.models, ARRAY[p.model]) FROM subscriptions s JOIN plans p ON p.id = s.plan_id
                  WHERE s.user_id = $1::uuid),
                (SELECT coalesce(models, ARRAY[model]) FROM plans WHERE is_default)) AS models

-- conversations_list --
-- Most recently active first; keyset on conversations_user_activity_idx ($2, $3 = the
-- last row of the previous page, NULL for the first page).
SELECT id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at, model
  FROM conversations
 WHERE user_id = $1::uuid
   AND ($2::timestamptz IS NULL OR (last_activity_at, id) < ($2::timestamptz, $3::uuid))
 ORDER BY last_activity_at DESC, id DESC
 LIMIT $4;

-- conversations_get --
-- One conversation of user $2 with its recent messages (at most 50), ascending by seq.
SELECT c.id::text, c.title, c.technique_id::text, c.technique_version, c.message_count,
       c.last_activity_at, c.created_at, c.model,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                          'seq', m.seq, 'role', m.role, 'content', m.content,
                          'created_at', to_char(m.created_at AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ORDER BY m.seq)
                   FROM recent_messages m WHERE m.conversation_id = c.id), '[]'::jsonb) AS recent_messages
  FROM conversations c
 WHERE c.id = $1::uuid AND c.user_id = $2::uuid;

-- conversations_update --
-- $3 = title or NULL to keep it (a title set here is the user's: never replaced by a
-- generated one); $4 = whether to change the technique, to $5 (version $6); $7 =
-- whether to change the model, to $8 (NULL = the plan's default).
UPDATE conversations
   SET title = coalesce($3, title),
       title_source = CASE WHEN $3 IS NULL THEN title_source ELSE 'user' END,
       technique_id = CASE WHEN $4 THEN $5::uuid ELSE technique_id END,
       technique_version = CASE WHEN $4 THEN $6 ELSE technique_version END,
       model = CASE WHEN $7 THEN $8 ELSE model END,
       updated_at = now()
 WHERE id = $1::uuid AND user_id = $2::uuid
RETURNING id::text, title, technique_id::text, technique_version, message_count, last_activity_at, created_at,
          model;

-- conversations_delete --
-- True when the user's conversation was deleted (with the jobs its requests had queued).
SELECT mukti_delete_conversation_v1($1::uuid, $2::uuid);

-- conversations_submit_question --
-- The hot path: limits, quota, message, request row and job in one call, one round trip:
-- v4 scopes its transaction to the user itself (core/database/scope.py SELF_SCOPED).
/* scopes itself */ SELECT outcome, request_id::text, message_seq, queue_position, retry_after_seconds, detail
  FROM mukti_submit_question_v4($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8);

-- conversations_queue_status --
-- A request of user $2 with its position (NULL unless pending), while processing the text
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
 WHERE r.id = $1::uuid AND r.user_id = $2::uuid;

-- conversations_cancel_request --
SELECT outcome, status FROM mukti_cancel_request_v1($1::uuid, $2::uuid);

-- conversations_poll_requests --
-- The live streams' safety net (api/live/relay.py): where the watched requests stand.
SELECT r.id::text AS request_id, r.status, r.attempts, mukti_queue_position_v1(r.id) AS position
  FROM request_queue r
 WHERE r.id = ANY($1::uuid[]);

-- conversations_stream_pieces --
-- The relayed text of attempt $2 of request $1 from character $3 on (a live reader
-- catching up after a gap).
SELECT coalesce(string_agg(substr(s.content, greatest($3 - s.start_offset, 0) + 1), '' ORDER BY s.start_offset),
                '') AS text
  FROM request_stream_chunks s
 WHERE s.request_id = $1::uuid AND s.attempt = $2 AND s.start_offset + char_length(s.content) > $3;

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

-- conversations_consistency_violations --
-- Questions that are not whole: each count must be 0. A pending request keeps its job
-- (workers delete the jobs they finish), every question job has its request, every
-- request its message, every user message its request; the pending counts (positions)
-- agree with the pending requests, per priority.
SELECT
    (SELECT count(*) FROM request_queue r
      WHERE NOT EXISTS (SELECT 1 FROM recent_messages m
                         WHERE m.conversation_id = r.conversation_id AND m.seq = r.message_seq)
        AND NOT EXISTS (SELECT 1 FROM archived_messages a
                         WHERE a.conversation_id = r.conversation_id AND a.seq = r.message_seq))
        AS requests_without_message,
    (SELECT count(*) FROM request_queue r
      WHERE r.status = 'pending' AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.id = r.job_id))
        AS pending_requests_without_job,
    (SELECT count(*) FROM procrastinate_jobs j
      WHERE j.task_name = 'answer_question'
        AND NOT EXISTS (SELECT 1 FROM request_queue r WHERE r.id = (j.args ->> 'request_id')::uuid))
        AS jobs_without_request,
    (SELECT count(*) FROM recent_messages m
      WHERE m.role = 'user' AND NOT EXISTS (SELECT 1 FROM request_queue r WHERE r.id = m.request_id))
        AS user_messages_without_request,
    (SELECT count(*) FROM (
        SELECT d.priority FROM (SELECT c.priority, c.pending AS n FROM request_queue_pending_counts c
                                UNION ALL
                                SELECT r.priority, -1 FROM request_queue r WHERE r.status = 'pending') AS d
         GROUP BY d.priority HAVING sum(d.n) <> 0) AS off) AS pending_counts_off;
