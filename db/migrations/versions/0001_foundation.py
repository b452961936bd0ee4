"""Foundation: the twelve entities, their supporting tables, partitions, reference data.

Revision ID: 0001
Revises:
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0001_foundation.up.sql")
    run_sql_file("functions/mukti_ensure_partitions_v1.sql")
    run_sql_file("schema/0001_reference_data.sql")
    # Partitions around now; the maintenance job keeps creating them ahead.
    execute_sql(
        "SELECT mukti_ensure_partitions_v1('archived_messages', 'month', now() - interval '1 month', 4);"
        "SELECT mukti_ensure_partitions_v1('usage_events', 'day', now() - interval '1 day', 10);"
    )


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_ensure_partitions_v1(regclass, text, timestamptz, integer);")
    run_sql_file("schema/0001_foundation.down.sql")
