-- Reverses 0006_search.up.sql (the migration then drops the two functions).
DROP TRIGGER IF EXISTS archived_messages_track_months ON archived_messages;
DROP TABLE IF EXISTS archived_message_months;
DROP INDEX IF EXISTS archived_messages_scoped_search_idx;
DROP INDEX IF EXISTS recent_messages_scoped_search_idx;
