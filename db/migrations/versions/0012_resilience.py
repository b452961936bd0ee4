"""resilience: a lifetime for every growing table. mukti_purge_expired_v1 deletes rows
past their lifetime in batches (the maintenance job `purge_expired` calls it), the
retention_runs table records what it did (for /metrics), and an index per table lets each
batch find its oldest rows without a scan.

The indexes are built CONCURRENTLY, outside the migration's transaction: these tables are
large on a live system, and a plain CREATE INDEX would block their writes meanwhile.

Revision ID: 0012
Revises: 0010
"""

from alembic import op

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = {
    "request_queue_finished_idx": "request_queue (completed_at) WHERE status IN ('completed', 'failed')",
    "notifications_created_idx": "notifications (created_at)",
    "webhook_deliveries_created_idx": "webhook_deliveries (created_at)",
    "refresh_tokens_expires_idx": "refresh_tokens (expires_at)",
    "shared_link_views_viewed_idx": "shared_link_views (viewed_at)",
    "audit_log_created_idx": "audit_log (created_at)",
}


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0012_resilience.up.sql")
    run_sql_file("functions/mukti_purge_expired_v1.sql")
    execute_sql("REVOKE EXECUTE ON FUNCTION mukti_purge_expired_v1(text, interval, integer) FROM PUBLIC;")
    with op.get_context().autocommit_block():
        for name, definition in INDEXES.items():
            execute_sql(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition};")


def downgrade() -> None:
    lock_timeout()
    with op.get_context().autocommit_block():
        for name in INDEXES:
            execute_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {name};")
    execute_sql("DROP FUNCTION IF EXISTS mukti_purge_expired_v1(text, interval, integer);")
    run_sql_file("schema/0012_resilience.down.sql")
