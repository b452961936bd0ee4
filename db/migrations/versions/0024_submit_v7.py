"""submit v7: the accept call as a wrapper of mukti_submit_question_v5 planned without
sequential scans (mukti_submit_question_v7), the same behaviour as v6 without a copy of
v5's body.

Functions only: nothing to lock but the catalog.

Revision ID: 0024
Revises: 0023
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_submit_question_v7.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_submit_question_v7(uuid, uuid, text, integer, integer, integer, text, integer);"
    )
