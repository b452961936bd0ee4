-- Helpfulness of replies, per UTC day, technique and model: the learners' feedback on
-- the tutor's replies (PUT /conversations/{id}/messages/{seq}/feedback), one rating per
-- user per reply version. Model and technique are those the reply was made with.
CREATE VIEW analytics.reply_feedback_v1 AS
SELECT (f.created_at AT TIME ZONE 'UTC')::date AS day,
       f.technique_id,
       f.model,
       count(*) FILTER (WHERE f.value = 1) AS helpful,
       count(*) FILTER (WHERE f.value = -1) AS unhelpful,
       count(*) FILTER (WHERE f.comment IS NOT NULL) AS with_comment,
       round(avg((f.value = 1)::int), 4) AS helpful_rate
  FROM public.message_feedback f
 GROUP BY 1, 2, 3;

COMMENT ON VIEW analytics.reply_feedback_v1 IS
    'Helpfulness of the tutor''s replies per UTC day, technique and model, from the learners'' feedback (one rating per user per reply version).';
COMMENT ON COLUMN analytics.reply_feedback_v1.day IS 'UTC day the feedback was first given.';
COMMENT ON COLUMN analytics.reply_feedback_v1.technique_id IS 'Technique the reply was made under (NULL: none, or deleted since).';
COMMENT ON COLUMN analytics.reply_feedback_v1.model IS 'Model that wrote the reply (NULL when its request had already expired).';
COMMENT ON COLUMN analytics.reply_feedback_v1.helpful IS 'Ratings of +1.';
COMMENT ON COLUMN analytics.reply_feedback_v1.unhelpful IS 'Ratings of -1.';
COMMENT ON COLUMN analytics.reply_feedback_v1.with_comment IS 'Ratings that came with a comment.';
COMMENT ON COLUMN analytics.reply_feedback_v1.helpful_rate IS 'helpful / (helpful + unhelpful), 4 decimals.';
