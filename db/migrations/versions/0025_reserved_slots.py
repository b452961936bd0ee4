"""reserved slots: a worker keeps some of its slots for the highest-priority questions
and fills them through mukti_fetch_job_v1, Procrastinate's choice of the next job limited
to a minimum priority (jobs/reserve.py).

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
    run_sql_file("functions/mukti_fetch_job_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_fetch_job_v1(character varying[], bigint, integer);")
