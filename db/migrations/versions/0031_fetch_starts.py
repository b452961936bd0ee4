"""fetch starts: mukti_fetch_job_v4 takes a worker's jobs as mukti_fetch_job_v3 does and
starts the answer of each question among them (mukti_start_attempt_v1) in the same
statement, so that the answering task no longer spends a transaction and a round trip of
its own on the start (jobs/fetch.py, docs/performance.md "Answers started by the fetch").

A function only: nothing to lock but the catalog. v3 stays (v4 calls it, and workers of the
release before fetch through it during an upgrade).

Revision ID: 0031
Revises: 0030
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_fetch_job_v4.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_fetch_job_v4(character varying[], bigint, integer, integer);")
