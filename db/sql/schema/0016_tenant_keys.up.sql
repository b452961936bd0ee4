-- Primary keys that include the tenant (user_id), for tables that are only ever read by
-- user: ready for Citus (docs/scaling.md, rule 3). Each new key is built CONCURRENTLY (no
-- write lock while it builds), then swapped in with a brief lock. A build an interruption
-- left invalid is dropped first, so the migration can be rerun.
DROP INDEX CONCURRENTLY IF EXISTS votes_user_id_key;
CREATE UNIQUE INDEX CONCURRENTLY votes_user_id_key ON votes (user_id, id);
ALTER TABLE votes DROP CONSTRAINT votes_pkey, ADD CONSTRAINT votes_pkey PRIMARY KEY USING INDEX votes_user_id_key;
DROP INDEX CONCURRENTLY IF EXISTS notifications_user_id_key;
CREATE UNIQUE INDEX CONCURRENTLY notifications_user_id_key ON notifications (user_id, id);
ALTER TABLE notifications DROP CONSTRAINT notifications_pkey,
    ADD CONSTRAINT notifications_pkey PRIMARY KEY USING INDEX notifications_user_id_key;
