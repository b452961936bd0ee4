DROP INDEX CONCURRENTLY IF EXISTS archived_message_months_user_idx;
