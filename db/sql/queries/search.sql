-- Conversation history (api/conversations) and full-text search (api/search).

-- search_conversation_head --
-- The caller's conversation and its highest seq; no row when it is not theirs.
SELECT message_count FROM conversations WHERE id = :conversation_id AND user_id = :user_id

-- search_history_page --
-- Messages with seq in [:low_seq, :high_seq] of :conversation_id, ascending. seq is contiguous, so a
-- page is a seq range. The archive is partitioned by created_at: archived_message_months
-- turns the seq range into a created_at range, and run-time pruning skips every other
-- partition (a page touches one or two partitions however many exist). A range wholly in
-- recent_messages finds no month, the bounds are NULL and no partition is scanned.
WITH span AS (
    SELECT min(month_start) AS lo,
           (max(month_start) AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' AS hi
      FROM archived_message_months
     WHERE conversation_id = :conversation_id AND min_seq <= :high_seq AND max_seq >= :low_seq
)
SELECT seq, role, content, created_at
  FROM recent_messages
 WHERE conversation_id = :conversation_id AND seq BETWEEN :low_seq AND :high_seq
UNION ALL
SELECT seq, role, content, created_at
  FROM archived_messages
 WHERE conversation_id = :conversation_id AND seq BETWEEN :low_seq AND :high_seq
   AND created_at >= (SELECT lo FROM span) AND created_at < (SELECT hi FROM span)
ORDER BY seq

-- search_archive_span --
-- The archive months holding the caller's (:user_id) messages, optionally of :conversation_id:
-- [lo, hi) from the first month's start to the end of the last (NULLs when none).
-- search_messages takes them as parameters, so the planner prunes at plan time and
-- plans and probes only those partitions, however many months the archive spans.
SELECT min(month_start) AS lo,
       (max(month_start) AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC' AS hi
  FROM archived_message_months
 WHERE user_id = :user_id AND (:conversation_id::uuid IS NULL OR conversation_id = :conversation_id)

-- search_messages --
-- One page of the caller's (:user_id) messages matching the web-search query :q under the
-- text search configuration of the caller's language (mukti_text_search_config_v1, which
-- also chose the ts_config their messages were stored with), optionally in
-- :conversation_id, ranked by ts_rank_cd; keyset after the cursor (:after_rank,
-- :after_conversation_id, :after_seq); at most :limit rows; archived messages only with
-- created_at in [:archived_from, :archived_until) (search_archive_span: plan-time pruning
-- keeps the other months' partitions out of the plan; NULLs: none).
-- The user scope is a weight-A lexeme inside the indexed tsvector (mukti_scoped_tsvector_v1):
-- the GIN scan of each partition intersects it with the query words, so other users' rows
-- are never read.
-- A query of stop words only is empty and matches nothing. `(search @@ query) IS TRUE`
-- rechecks the words on the plain vector, so the scope lexeme itself is not searchable;
-- IS TRUE keeps it a filter (the plain GIN index would read every user's postings).
-- Snippets are made for the returned rows only, from HTML-escaped content, hits in <mark>.
WITH q AS MATERIALIZED (
    SELECT c.cfg, websearch_to_tsquery(c.cfg, :q) AS query,
           ('u' || replace(:user_id::uuid::text, '-', '') || ':A')::tsquery AS scope
      FROM (SELECT mukti_text_search_config_v1((SELECT preferences FROM users WHERE id = :user_id::uuid)) AS cfg) c
), hits AS (
    SELECT m.conversation_id, m.seq, m.role, m.content, m.created_at, ts_rank_cd(m.search, q.query) AS rank
      FROM q, recent_messages m
     WHERE mukti_scoped_tsvector_v1(m.search, m.user_id) @@ (q.query && q.scope) AND numnode(q.query) > 0
       AND (m.search @@ q.query) IS TRUE
    UNION ALL
    SELECT a.conversation_id, a.seq, a.role, a.content, a.created_at, ts_rank_cd(a.search, q.query) AS rank
      FROM q, archived_messages a
     WHERE mukti_scoped_tsvector_v1(a.search, a.user_id) @@ (q.query && q.scope) AND numnode(q.query) > 0
       AND (a.search @@ q.query) IS TRUE
       AND a.created_at >= :archived_from::timestamptz AND a.created_at < :archived_until::timestamptz
), page AS (
    SELECT * FROM hits
     WHERE (:conversation_id::uuid IS NULL OR conversation_id = :conversation_id)
       AND (:after_rank::real IS NULL OR rank < :after_rank
            OR (rank = :after_rank AND (conversation_id, seq) > (:after_conversation_id::uuid, :after_seq::integer)))
     ORDER BY rank DESC, conversation_id, seq
     LIMIT :limit
)
SELECT p.conversation_id, p.seq, p.role, p.created_at, p.rank,
       ts_headline(q.cfg, replace(replace(replace(p.content, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), q.query,
                   'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2') AS snippet
  FROM page p, q
 ORDER BY p.rank DESC, p.conversation_id, p.seq
