DROP TABLE IF EXISTS retention_runs;
