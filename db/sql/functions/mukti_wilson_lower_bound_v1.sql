-- Lower bound of the 95% Wilson score interval for the share of upvotes.
-- Ranks "9 up, 1 down" above "1 up, 0 down": confidence grows with the number of votes,
-- so a single early vote cannot put an item on top. 0 when nobody voted.
CREATE FUNCTION mukti_wilson_lower_bound_v1(upvotes integer, downvotes integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE WHEN upvotes + downvotes = 0 THEN 0::double precision ELSE (
        p + z * z / (2 * n) - z * sqrt((p * (1 - p) + z * z / (4 * n)) / n)
    ) / (1 + z * z / n) END
    FROM (SELECT (upvotes + downvotes)::double precision AS n,
                 upvotes::double precision / nullif(upvotes + downvotes, 0) AS p,
                 1.959963984540054::double precision AS z) AS k
$$;
