"""reply batches: several streamed replies, of any users, stored in one transaction, each
as one call of mukti_complete_stream_v4 (mukti_complete_streams_v1; jobs/replies.py). It
counts pending requests in a slot of its own, as accept batches do (migration 0026).

Revision ID: 0027
Revises: 0026
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_complete_streams_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_complete_streams_v1(uuid[], text[], integer[], integer[], integer[], "
        "integer[], boolean[], boolean[], uuid[], bigint[]);"
    )
