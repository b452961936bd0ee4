-- Indexes of the dialogue migration on tables that can be large, built CONCURRENTLY
-- (one statement at a time, outside a transaction: see 0017_dialogue.py).

-- Only answers are unique per question and per reply: a regenerate asks again.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS request_queue_answer_message_key
    ON request_queue (conversation_id, message_seq) WHERE kind = 'answer';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS request_queue_answer_reply_key
    ON request_queue (conversation_id, reply_seq) WHERE kind = 'answer';
-- Regenerate and edit check that nothing of the conversation is in flight (small: only
-- the waiting and running requests).
CREATE INDEX CONCURRENTLY IF NOT EXISTS request_queue_conversation_open_idx
    ON request_queue (conversation_id) WHERE status IN ('pending', 'processing');
-- Follow-ups: the users who opted in, found without scanning everyone.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_follow_ups_idx
    ON users (id) WHERE (preferences -> 'follow_ups' ->> 'enabled') = 'true';
