"""fetch jobs: the worker takes as many jobs as it has free slots in one statement
(mukti_fetch_jobs_v1) instead of one call of Procrastinate's fetch per slot.

Functions only: nothing to lock but the catalog.

Revision ID: 0025
Revises: 0024
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_fetch_jobs_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_fetch_jobs_v1(character varying[], bigint, integer);")
