"""operators: the metrics every API and worker process shares (counter totals, gauges of
live processes) and the function that flushes one process's metrics.

Revision ID: 0015
Revises: 0014a
"""

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0015"
down_revision = "0014a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    # New, empty tables: nothing to lock for long.
    lock_timeout()
    run_sql_file("schema/0015_operators.up.sql")
    run_sql_file("functions/mukti_flush_metrics_v1.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0015_operators.down.sql")
