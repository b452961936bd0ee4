-- Queries of the sharing feature (api/sharing). The public view itself is the SQL
-- function mukti_view_share_v1.

-- sharing_create --
-- One statement: the owner check and the snapshot (the conversation's highest seq now)
-- are taken from the same row read; no row back means not the caller's conversation.
INSERT INTO shared_links (user_id, conversation_id, token_hash, password_hash, snapshot_seq, expires_at, max_views)
SELECT c.user_id, c.id, :token_hash, :password_hash, c.message_count,
       now() + make_interval(secs => :expires_in::integer), :max_views
  FROM conversations c
 WHERE c.id = :conversation_id AND c.user_id = :user_id
RETURNING id::text, snapshot_seq, expires_at, max_views;

-- sharing_conversation_owned --
SELECT EXISTS (SELECT 1 FROM conversations WHERE id = :conversation_id AND user_id = :user_id);

-- sharing_list --
-- The caller's links of one conversation, newest first (columns named as in the API); after the cursor (:after_at,
-- :after_id) when given.
SELECT id::text, conversation_id::text, snapshot_seq, expires_at, max_views, view_count AS views,
       last_viewed_at, revoked_at, created_at, password_hash IS NOT NULL AS password_protected
  FROM shared_links
 WHERE conversation_id = :conversation_id AND user_id = :user_id
   AND (:after_at::timestamptz IS NULL OR (created_at, id) < (:after_at, :after_id::uuid))
 ORDER BY created_at DESC, id DESC
 LIMIT :limit;

-- sharing_revoke --
-- Idempotent: the first revocation time is kept.
UPDATE shared_links SET revoked_at = coalesce(revoked_at, now())
 WHERE id = :share_id AND user_id = :user_id
RETURNING id;

-- sharing_view --
-- One counted view of a link (or why not): see mukti_view_share_v1.
SELECT outcome, link_id::text, password_hash, conversation_id, snapshot_seq, title, technique
  FROM mukti_view_share_v1(:token_hash, :password_ok, :referrer, :visitor_hash);

-- sharing_guess_begin --
-- May this request verify a share password now? (see mukti_share_guess_begin_v1)
SELECT retry_after, busy, hit_ids
  FROM mukti_share_guess_begin_v1(:subjects::text[], :limits::integer[],
                                  make_interval(secs => :lease_seconds::integer));

-- sharing_guess_right --
-- A right password leaves no trace in the throttle.
DELETE FROM rate_limits WHERE id = ANY(:hit_ids::bigint[]) AND action = 'share_password_pending';

-- sharing_guess_wrong --
-- A wrong password: its in-flight rows (:hit_ids) become failures, each of :subjects with
-- its own window in seconds (:windows), in one statement, so a concurrent check sees the
-- guess either in flight or failed, never neither. Inserted afresh rather than updated in place, so
-- a failure still counts if its lease ran out during a very slow verification.
WITH pending AS (
    DELETE FROM rate_limits WHERE id = ANY(:hit_ids::bigint[]) AND action = 'share_password_pending'
)
INSERT INTO rate_limits (action, subject, hit_at, expires_at)
SELECT 'share_password', f.subject, clock_timestamp(), clock_timestamp() + make_interval(secs => f.seconds)
  FROM unnest(:subjects::text[], :windows::integer[]) AS f(subject, seconds);

-- sharing_snapshot_messages --
-- Messages 1..snapshot_seq, recent and archived alike, in one statement (one snapshot:
-- a concurrent archive move cannot make a message vanish or appear twice).
SELECT seq, role, content, created_at
  FROM (SELECT seq, role, content, created_at FROM recent_messages
         WHERE conversation_id = :conversation_id AND seq <= :snapshot_seq
        UNION ALL
        SELECT seq, role, content, created_at FROM archived_messages
         WHERE conversation_id = :conversation_id AND seq <= :snapshot_seq) m
 WHERE role <> 'system'
 ORDER BY seq;

-- sharing_analytics --
-- Counters from the link row; per-day and per-referrer figures from the view log.
SELECT l.view_count AS views, l.max_views, l.last_viewed_at, l.expires_at, l.revoked_at,
       (SELECT count(DISTINCT v.visitor_hash) FROM shared_link_views v
         WHERE v.shared_link_id = l.id) AS unique_visitors,
       (SELECT coalesce(json_agg(json_build_object('day', d.day, 'views', d.views) ORDER BY d.day), '[]'::json)
          FROM (SELECT to_char(v.viewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS views
                  FROM shared_link_views v WHERE v.shared_link_id = l.id GROUP BY 1) d) AS by_day,
       (SELECT coalesce(json_agg(json_build_object('referrer', r.referrer, 'views', r.views)
                                 ORDER BY r.views DESC, r.referrer NULLS FIRST), '[]'::json)
          FROM (SELECT v.referrer, count(*) AS views
                  FROM shared_link_views v WHERE v.shared_link_id = l.id
                 GROUP BY v.referrer ORDER BY views DESC, v.referrer NULLS FIRST LIMIT 50) r) AS referrers
  FROM shared_links l
 WHERE l.id = :share_id AND l.user_id = :user_id;
