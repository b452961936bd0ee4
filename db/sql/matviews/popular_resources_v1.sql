-- analytics.popular_resources_v1: approved resources ranked by their vote score (Wilson
-- lower bound), with the votes of the last 30 days to show what is trending.
CREATE MATERIALIZED VIEW analytics.popular_resources_v1 AS
SELECT row_number() OVER (ORDER BY r.score DESC, r.upvotes DESC, r.id) AS rank,
       r.id AS resource_id,
       r.title,
       r.url,
       r.kind,
       r.created_at,
       r.upvotes,
       r.downvotes,
       r.upvotes - r.downvotes AS net_votes,
       r.score,
       coalesce(v.votes_30d, 0) AS votes_30d,
       coalesce(v.net_votes_30d, 0) AS net_votes_30d
  FROM public.resources r
  LEFT JOIN (SELECT resource_id, count(*) AS votes_30d, sum(value) AS net_votes_30d
               FROM public.votes
              WHERE resource_id IS NOT NULL AND updated_at > now() - interval '30 days'
              GROUP BY resource_id) v ON v.resource_id = r.id
 WHERE r.status = 'approved' AND r.deleted_at IS NULL;
CREATE UNIQUE INDEX popular_resources_v1_key ON analytics.popular_resources_v1 (resource_id);
