"""fetch batches: mukti_fetch_job_v3 takes up to n jobs in one statement, those n calls of
mukti_fetch_job_v2 in a row would take, with v2's kept plan; a worker asks for as many as
its free ordinary slots hold (jobs/fetch.py), so that its serial fetch loop no longer
spends a turn (a statement and a round trip) on each job it takes.

A function only: nothing to lock but the catalog. v2 stays for workers of the release
before during an upgrade.

Revision ID: 0029
Revises: 0028
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_fetch_job_v3.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_fetch_job_v3(character varying[], bigint, integer, integer);")
