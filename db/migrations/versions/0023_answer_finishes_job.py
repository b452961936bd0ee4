"""answer finishes job: the worker's stored reply also finishes the job that answered it
(mukti_complete_stream_v4), in the same transaction, instead of Procrastinate's finish in
a second one.

Functions only: nothing to lock but the catalog.

Revision ID: 0023
Revises: 0022
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_complete_stream_v4.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_complete_stream_v4(uuid, text, integer, integer, integer, integer, "
        "boolean, boolean, uuid, bigint);"
    )
