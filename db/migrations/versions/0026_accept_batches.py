"""accept batches: several questions, of any users, accepted in one transaction, each as
one call of mukti_submit_question_v7 (mukti_submit_questions_v1; api/conversations/batches.py).

Functions only: nothing to lock but the catalog.

Revision ID: 0026
Revises: 0025
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_submit_questions_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_submit_questions_v1(uuid[], uuid[], text[], text[], integer[], integer, integer, integer);"
    )
