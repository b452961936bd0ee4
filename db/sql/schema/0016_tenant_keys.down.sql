-- Back to primary keys on id alone, the same way.
DROP INDEX CONCURRENTLY IF EXISTS votes_id_key;
CREATE UNIQUE INDEX CONCURRENTLY votes_id_key ON votes (id);
ALTER TABLE votes DROP CONSTRAINT votes_pkey, ADD CONSTRAINT votes_pkey PRIMARY KEY USING INDEX votes_id_key;
DROP INDEX CONCURRENTLY IF EXISTS notifications_id_key;
CREATE UNIQUE INDEX CONCURRENTLY notifications_id_key ON notifications (id);
ALTER TABLE notifications DROP CONSTRAINT notifications_pkey,
    ADD CONSTRAINT notifications_pkey PRIMARY KEY USING INDEX notifications_id_key;
