-- Library: what the 0001 tables need beyond their own indexes.

-- The moderation queue reads pending technique versions oldest first (techniques_pending_idx
-- only covers never-approved techniques; an edit of a live one is pending on its version row).
CREATE INDEX technique_versions_pending_idx ON technique_versions (created_at) WHERE status = 'pending';
