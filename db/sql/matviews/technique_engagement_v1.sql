-- analytics.technique_engagement_v1: per technique (not deleted), how it is used and
-- rated: conversations and users, conversation length in messages (mean and median),
-- return rate (share of its users whose conversations with it span more than one UTC
-- day) and the vote counts and score.
CREATE MATERIALIZED VIEW analytics.technique_engagement_v1 AS
WITH conversation_stats AS (
    SELECT technique_id,
           count(*) AS conversations,
           avg(message_count) AS avg_messages,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY message_count) AS median_messages
      FROM public.conversations
     WHERE technique_id IS NOT NULL
     GROUP BY technique_id
), user_stats AS (
    SELECT technique_id,
           count(*) AS users,
           count(*) FILTER (WHERE last_day > first_day) AS returning_users
      FROM (SELECT technique_id, user_id,
                   min((created_at AT TIME ZONE 'UTC')::date) AS first_day,
                   max((last_activity_at AT TIME ZONE 'UTC')::date) AS last_day
              FROM public.conversations
             WHERE technique_id IS NOT NULL
             GROUP BY technique_id, user_id) per_user
     GROUP BY technique_id
)
SELECT t.id AS technique_id,
       t.name,
       t.status,
       t.is_builtin,
       t.created_at,
       coalesce(c.conversations, 0) AS conversations,
       coalesce(u.users, 0) AS users,
       round(coalesce(c.avg_messages, 0), 2) AS avg_messages_per_conversation,
       coalesce(c.median_messages, 0) AS median_messages_per_conversation,
       coalesce(u.returning_users, 0) AS returning_users,
       round(coalesce(u.returning_users::numeric / nullif(u.users, 0), 0), 4) AS return_rate,
       t.upvotes,
       t.downvotes,
       t.upvotes - t.downvotes AS net_votes,
       t.score
  FROM public.techniques t
  LEFT JOIN conversation_stats c ON c.technique_id = t.id
  LEFT JOIN user_stats u ON u.technique_id = t.id
 WHERE t.deleted_at IS NULL;
CREATE UNIQUE INDEX technique_engagement_v1_key ON analytics.technique_engagement_v1 (technique_id);
