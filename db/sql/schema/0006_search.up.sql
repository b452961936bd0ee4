-- 0006 search: a per-user full-text index on recent and archived messages, and the
-- seq -> month map that lets a history page skip the partitions it cannot be in.

-- Per-user search: GIN over the search vector plus the owner's lexeme (see
-- mukti_scoped_tsvector_v1). btree_gin is not available everywhere (the embedded server
-- has no contrib), so the tenant key rides inside the tsvector instead.
-- Only the partitioned parent's index here (ON ONLY: instant, invalid until every
-- partition's index is attached); the builds run CONCURRENTLY, partition by partition,
-- outside this transaction (the migration), so writers are never blocked by them.
-- Partitions created later get their index with the partition.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX archived_messages_scoped_search_idx
    ON ONLY archived_messages USING gin (mukti_scoped_tsvector_v1(search, user_id));

-- archived_messages is partitioned by created_at, so a lookup by (conversation_id, seq)
-- alone probes every partition. This map says which months hold which seqs of a
-- conversation; history reads turn it into a created_at range and prune the rest.
CREATE TABLE archived_message_months (
    conversation_id      uuid NOT NULL,
    month_start          timestamptz NOT NULL,     -- first instant of the UTC month
    user_id              uuid NOT NULL,
    min_seq              integer NOT NULL,
    max_seq              integer NOT NULL,
    CONSTRAINT archived_message_months_pkey PRIMARY KEY (conversation_id, month_start),
    CONSTRAINT archived_message_months_conversation_fkey FOREIGN KEY (conversation_id)
        REFERENCES conversations (id) ON DELETE CASCADE,
    CONSTRAINT archived_message_months_seq_valid CHECK (min_seq BETWEEN 1 AND max_seq)
);

-- The trigger first: rows archived from now on are tracked by it; the rows already
-- there are added by the migration's backfill, one partition per transaction (the
-- upsert only widens ranges, so the two meet without a gap or a conflict).
CREATE TRIGGER archived_messages_track_months
    AFTER INSERT ON archived_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mukti_track_archived_months_v1();
