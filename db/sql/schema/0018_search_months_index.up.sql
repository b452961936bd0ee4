-- 0018 performance: which months hold a user's archived messages (search_archive_span),
-- read as min/max at the two ends of the user's range. One statement: CONCURRENTLY runs
-- outside a transaction.
CREATE INDEX CONCURRENTLY archived_message_months_user_idx
    ON archived_message_months (user_id, month_start);
