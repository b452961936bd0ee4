-- What the lifetime purges did, per table: /metrics reads it (mukti_retention_*).
CREATE TABLE retention_runs (
    table_name     text PRIMARY KEY,
    last_run_at    timestamptz NOT NULL,
    last_deleted   integer NOT NULL,
    total_deleted  bigint NOT NULL
);
