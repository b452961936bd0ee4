"""start batches: several requests, of any users, taken for an LLM attempt in one
transaction, each as one call of mukti_start_attempt_v1 (mukti_start_attempts_v1;
jobs/starts.py). It counts the requests leaving 'pending' in a slot of its own, as reply
batches do (migration 0027).

A function only: nothing to lock but the catalog.

Revision ID: 0030
Revises: 0029
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_start_attempts_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_start_attempts_v1(uuid[], uuid[]);")
