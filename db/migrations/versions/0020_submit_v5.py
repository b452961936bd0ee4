"""submit v5: v4 without the per-call planning of the text search configuration for users
who have set no language (mukti_submit_question_v5; docs/performance.md).

Functions only: nothing to lock but the catalog.

Revision ID: 0020
Revises: 0019
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_submit_question_v5.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_submit_question_v5(uuid, uuid, text, integer, integer, integer, text, integer);"
    )
