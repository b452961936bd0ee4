"""start attempt v1: the worker's start of an attempt as a function that scopes itself
(mukti_start_attempt_v1), sent alone: one round trip instead of three.

Functions only: nothing to lock but the catalog.

Revision ID: 0021
Revises: 0020
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_start_attempt_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_start_attempt_v1(uuid, uuid);")
