DROP INDEX IF EXISTS technique_versions_pending_idx;
