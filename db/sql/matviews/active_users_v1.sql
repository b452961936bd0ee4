-- analytics.active_users_v1: daily, weekly and monthly active users (a user is active on
-- a UTC day when they asked at least one question), for every day since the first usage.
-- WAU/MAU are rolling 7/30-day windows ending that day. From the durable aggregate.
CREATE MATERIALIZED VIEW analytics.active_users_v1 AS
WITH user_days AS (
    SELECT DISTINCT user_id, day FROM public.daily_usage_aggregates WHERE questions > 0
), days AS (
    SELECT generate_series(min(day), max(day), interval '1 day')::date AS day FROM user_days
)
SELECT d.day,
       count(DISTINCT u.user_id) FILTER (WHERE u.day = d.day) AS dau,
       count(DISTINCT u.user_id) FILTER (WHERE u.day > d.day - 7) AS wau,
       count(DISTINCT u.user_id) AS mau
  FROM days d
  LEFT JOIN user_days u ON u.day > d.day - 30 AND u.day <= d.day
 GROUP BY d.day;
CREATE UNIQUE INDEX active_users_v1_key ON analytics.active_users_v1 (day);
