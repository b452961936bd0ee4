-- mukti_track_archived_months_v1(): statement trigger on archived_messages (AFTER INSERT,
-- transition table new_rows). Records, per conversation and UTC month, the lowest and
-- highest seq archived in that month, so a history page can bound created_at and touch
-- only the partitions that hold it. One upsert per statement, not per row. The ranges
-- only ever widen: a deleted row leaves a superset, which is still correct.
CREATE FUNCTION mukti_track_archived_months_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO archived_message_months AS m (conversation_id, month_start, user_id, min_seq, max_seq)
    SELECT conversation_id,
           date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           user_id, min(seq), max(seq)
      FROM new_rows
     GROUP BY 1, 2, 3  -- user_id follows from conversation_id
    ON CONFLICT (conversation_id, month_start) DO UPDATE
       SET min_seq = least(m.min_seq, excluded.min_seq),
           max_seq = greatest(m.max_seq, excluded.max_seq);
    RETURN NULL;
END;
$$;
