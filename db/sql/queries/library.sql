-- Queries of the library routes: techniques, resources, votes, the moderation queue.
-- Visibility everywhere: built-ins and approved items for everyone, the caller's own in
-- any status, everything (not deleted) for moderators. Lists page with keysets on the
-- partial indexes techniques_top_idx / techniques_new_idx (and the resources_ twins):
-- approved items come from the index in order, the caller's few non-approved ones from
-- techniques_user_idx, and the two short runs are merged.
-- Parameters of the list queries: :user_id the caller, :pattern an ILIKE pattern or NULL,
-- the cursor (:after_score or :after_at, :after_id) or NULLs, :limit rows to fetch.

-- library_create_technique --
-- A user's technique and its version 1, both pending.
WITH t AS (
    INSERT INTO techniques (user_id, name, description, status, latest_version)
    VALUES (:user_id::uuid, :name, :description, 'pending', 1)
    RETURNING id
)
INSERT INTO technique_versions (technique_id, version, user_id, name, description, system_prompt,
                                questioning_style, status)
SELECT t.id, 1, :user_id::uuid, :name, :description, :system_prompt, :questioning_style, 'pending' FROM t
RETURNING technique_id::text AS id;

-- library_get_technique --
-- One technique as :user_id may see it: the owner and moderators (:is_moderator) see the
-- latest version, everyone else the approved one. No row = 404.
SELECT t.id::text, t.slug, t.is_builtin, t.is_default, t.status, t.user_id::text AS author_id,
       t.latest_version, t.approved_version, t.rejection_reason, t.upvotes, t.downvotes, t.score,
       t.created_at, t.updated_at, v.value AS my_vote,
       tv.version, tv.name, tv.description, tv.system_prompt, tv.questioning_style,
       tv.status AS version_status, tv.rejection_reason AS version_rejection_reason
  FROM techniques t
  JOIN technique_versions tv
    ON tv.technique_id = t.id
   AND tv.version = CASE WHEN t.user_id = :user_id::uuid OR :is_moderator::boolean
                         THEN t.latest_version ELSE t.approved_version END
  LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.technique_id = t.id
 WHERE t.id = :technique_id::uuid AND t.deleted_at IS NULL
   AND (t.status = 'approved' OR t.user_id = :user_id::uuid OR :is_moderator::boolean);

-- library_list_techniques_top --
-- Highest Wilson score first (ties by id). Many items share a score (every unvoted one
-- has 0), and the index orders score DESC but id ASC, so no single row comparison can
-- be an index bound: the approved run after the cursor is read as two index ranges, the
-- rest of the cursor's tie group (score = s AND id > i) and the lower scores (score < s).
WITH page AS (
    (SELECT * FROM techniques
      WHERE status = 'approved' AND deleted_at IS NULL
        AND score = :after_score::float8 AND id > :after_id::uuid
        AND (:pattern::text IS NULL OR name ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM techniques
      WHERE status = 'approved' AND deleted_at IS NULL
        AND score < coalesce(:after_score::float8, 'Infinity')
        AND (:pattern::text IS NULL OR name ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM techniques
      WHERE user_id = :user_id::uuid AND status <> 'approved' AND deleted_at IS NULL
        AND score <= coalesce(:after_score::float8, 'Infinity')
        AND (score < coalesce(:after_score::float8, 'Infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR name ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
)
SELECT p.id::text, p.slug, p.name, p.description, p.is_builtin, p.is_default, p.status,
       p.user_id::text AS author_id, p.latest_version, p.approved_version, p.rejection_reason,
       p.upvotes, p.downvotes, p.score, p.created_at, p.updated_at, v.value AS my_vote
  FROM page p LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.technique_id = p.id
 ORDER BY p.score DESC, p.id LIMIT :limit;

-- library_list_techniques_new --
-- Newest first (ties by id). Timestamps rarely tie, so the id filter only ever skips
-- within one tie group.
WITH page AS (
    (SELECT * FROM techniques
      WHERE status = 'approved' AND deleted_at IS NULL
        AND created_at <= coalesce(:after_at::timestamptz, 'infinity')
        AND (created_at < coalesce(:after_at::timestamptz, 'infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR name ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY created_at DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM techniques
      WHERE user_id = :user_id::uuid AND status <> 'approved' AND deleted_at IS NULL
        AND created_at <= coalesce(:after_at::timestamptz, 'infinity')
        AND (created_at < coalesce(:after_at::timestamptz, 'infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR name ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY created_at DESC, id LIMIT :limit)
)
SELECT p.id::text, p.slug, p.name, p.description, p.is_builtin, p.is_default, p.status,
       p.user_id::text AS author_id, p.latest_version, p.approved_version, p.rejection_reason,
       p.upvotes, p.downvotes, p.score, p.created_at, p.updated_at, v.value AS my_vote
  FROM page p LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.technique_id = p.id
 ORDER BY p.created_at DESC, p.id LIMIT :limit;

-- library_technique_versions --
-- Versions newest first, of a technique the caller can see (:sees_all for its owner and
-- moderators; others see only approved versions), below the cursor's :before_version.
SELECT version, name, description, system_prompt, questioning_style, status, rejection_reason, created_at
  FROM technique_versions
 WHERE technique_id = :technique_id::uuid
   AND (:sees_all::boolean OR status = 'approved')
   AND version < coalesce(:before_version::integer, 2147483647)
 ORDER BY version DESC LIMIT :limit;

-- library_edit_technique --
SELECT mukti_edit_technique_v1(:user_id::uuid, :technique_id::uuid, :name, :description, :system_prompt,
                               :questioning_style);

-- library_delete_technique --
-- Soft delete by the author: conversations that use it keep their pinned version.
UPDATE techniques SET deleted_at = now(), updated_at = now()
 WHERE id = :technique_id::uuid AND user_id = :user_id::uuid AND deleted_at IS NULL AND NOT is_builtin
RETURNING id;

-- library_cast_vote --
-- :value NULL removes the vote.
SELECT upvotes, downvotes, score FROM mukti_cast_vote_v1(:user_id::uuid, :target, :target_id::uuid, :value::integer);

-- library_create_resource --
INSERT INTO resources (user_id, title, url, description, kind, status)
VALUES (:user_id::uuid, :title, :url, :description, :kind, 'pending')
RETURNING id::text;

-- library_get_resource --
-- One resource as :user_id may see it (everything when :is_moderator). No row = 404.
SELECT r.id::text, r.title, r.url, r.description, r.kind, r.status, r.user_id::text AS author_id,
       r.rejection_reason, r.upvotes, r.downvotes, r.score, r.created_at, r.updated_at, v.value AS my_vote
  FROM resources r LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.resource_id = r.id
 WHERE r.id = :resource_id::uuid AND r.deleted_at IS NULL
   AND (r.status = 'approved' OR r.user_id = :user_id::uuid OR :is_moderator::boolean);

-- library_list_resources_top --
WITH page AS (
    (SELECT * FROM resources
      WHERE status = 'approved' AND deleted_at IS NULL
        AND score = :after_score::float8 AND id > :after_id::uuid
        AND (:pattern::text IS NULL OR title ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM resources
      WHERE status = 'approved' AND deleted_at IS NULL
        AND score < coalesce(:after_score::float8, 'Infinity')
        AND (:pattern::text IS NULL OR title ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM resources
      WHERE user_id = :user_id::uuid AND status <> 'approved' AND deleted_at IS NULL
        AND score <= coalesce(:after_score::float8, 'Infinity')
        AND (score < coalesce(:after_score::float8, 'Infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR title ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY score DESC, id LIMIT :limit)
)
SELECT p.id::text, p.title, p.url, p.description, p.kind, p.status, p.user_id::text AS author_id,
       p.rejection_reason, p.upvotes, p.downvotes, p.score, p.created_at, p.updated_at, v.value AS my_vote
  FROM page p LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.resource_id = p.id
 ORDER BY p.score DESC, p.id LIMIT :limit;

-- library_list_resources_new --
WITH page AS (
    (SELECT * FROM resources
      WHERE status = 'approved' AND deleted_at IS NULL
        AND created_at <= coalesce(:after_at::timestamptz, 'infinity')
        AND (created_at < coalesce(:after_at::timestamptz, 'infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR title ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY created_at DESC, id LIMIT :limit)
    UNION ALL
    (SELECT * FROM resources
      WHERE user_id = :user_id::uuid AND status <> 'approved' AND deleted_at IS NULL
        AND created_at <= coalesce(:after_at::timestamptz, 'infinity')
        AND (created_at < coalesce(:after_at::timestamptz, 'infinity') OR id > :after_id::uuid)
        AND (:pattern::text IS NULL OR title ILIKE :pattern OR description ILIKE :pattern)
      ORDER BY created_at DESC, id LIMIT :limit)
)
SELECT p.id::text, p.title, p.url, p.description, p.kind, p.status, p.user_id::text AS author_id,
       p.rejection_reason, p.upvotes, p.downvotes, p.score, p.created_at, p.updated_at, v.value AS my_vote
  FROM page p LEFT JOIN votes v ON v.user_id = :user_id::uuid AND v.resource_id = p.id
 ORDER BY p.created_at DESC, p.id LIMIT :limit;

-- library_edit_resource --
-- The author edits; NULL = unchanged. Resources have no version history, so a change of
-- content goes back to moderation (hidden from others until approved again); votes stay.
UPDATE resources AS r
   SET title = coalesce(:title, r.title), url = coalesce(:url, r.url),
       description = coalesce(:description, r.description), kind = coalesce(:kind, r.kind),
       status = CASE WHEN (coalesce(:title, r.title), coalesce(:url, r.url), coalesce(:description, r.description),
                           coalesce(:kind, r.kind)) IS DISTINCT FROM (r.title, r.url, r.description, r.kind)
                     THEN 'pending' ELSE r.status END,
       rejection_reason = CASE WHEN (coalesce(:title, r.title), coalesce(:url, r.url), coalesce(:description, r.description),
                                     coalesce(:kind, r.kind)) IS DISTINCT FROM (r.title, r.url, r.description, r.kind)
                               THEN NULL ELSE r.rejection_reason END,
       updated_at = now()
 WHERE r.id = :resource_id::uuid AND r.user_id = :user_id::uuid AND r.deleted_at IS NULL
RETURNING r.id;

-- library_delete_resource --
UPDATE resources SET deleted_at = now(), updated_at = now()
 WHERE id = :resource_id::uuid AND user_id = :user_id::uuid AND deleted_at IS NULL
RETURNING id;

-- library_moderation_queue --
-- Pending technique versions and pending resources, oldest first, after the cursor
-- (:after_at, :after_id: submitted_at and id) or from the start when NULL. Each run reads
-- its partial pending index.
WITH queue AS (
    (SELECT 'technique' AS type, tv.technique_id AS id, tv.version, tv.name AS title, tv.description,
            tv.system_prompt, tv.questioning_style, NULL::text AS url, NULL::text AS kind,
            tv.user_id AS author_id, t.approved_version, tv.created_at AS submitted_at
       FROM technique_versions tv JOIN techniques t ON t.id = tv.technique_id
      WHERE tv.status = 'pending' AND t.deleted_at IS NULL
        AND (tv.created_at, tv.technique_id) > (coalesce(:after_at::timestamptz, '-infinity'),
                                                coalesce(:after_id::uuid, '00000000-0000-0000-0000-000000000000'))
      ORDER BY tv.created_at, tv.technique_id LIMIT :limit)
    UNION ALL
    (SELECT 'resource', r.id, NULL, r.title, r.description, NULL, NULL, r.url, r.kind,
            r.user_id, NULL, r.created_at
       FROM resources r
      WHERE r.status = 'pending' AND r.deleted_at IS NULL
        AND (r.created_at, r.id) > (coalesce(:after_at::timestamptz, '-infinity'),
                                    coalesce(:after_id::uuid, '00000000-0000-0000-0000-000000000000'))
      ORDER BY r.created_at, r.id LIMIT :limit)
)
SELECT type, id::text, version, title, description, system_prompt, questioning_style, url, kind,
       author_id::text, approved_version, submitted_at
  FROM queue ORDER BY submitted_at, id LIMIT :limit;

-- library_moderate --
SELECT mukti_moderate_v1(:moderator_id::uuid, :target, :target_id::uuid, :decision, :reason, :version::integer);

-- library_technique_stats --
-- Use and rating of one approved (built-ins are approved) technique, live: its
-- conversations, their median length in messages, the return rate (as in
-- analytics.technique_engagement_v1: the share of its users whose conversations with it
-- span more than one UTC day) and the votes. Three index scans of
-- conversations_technique_idx. No row = 404 (not approved, deleted or unknown).
-- helpful_rate: the share of positive feedback on the replies of its conversations
-- (message_feedback, by the technique the reply was made under); NULL while there is none.
SELECT t.upvotes, t.downvotes,
       (SELECT count(*) FROM conversations c WHERE c.technique_id = t.id) AS conversations,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY c.message_count)
          FROM conversations c WHERE c.technique_id = t.id) AS median_messages,
       (SELECT avg((u.last_day > u.first_day)::int)::float8
          FROM (SELECT min((c.created_at AT TIME ZONE 'UTC')::date) AS first_day,
                       max((c.last_activity_at AT TIME ZONE 'UTC')::date) AS last_day
                  FROM conversations c WHERE c.technique_id = t.id
                 GROUP BY c.user_id) u) AS return_rate,
       (SELECT avg((f.value = 1)::int)::float8 FROM message_feedback f WHERE f.technique_id = t.id) AS helpful_rate
  FROM techniques t
 WHERE t.id = :technique_id::uuid AND t.deleted_at IS NULL AND t.status = 'approved';
