"""fetch plans kept: every fetch of a `mukti worker` goes through mukti_fetch_job_v2
(jobs/fetch.py), the choice of Procrastinate's fetch with a plan a session keeps, which no
table statistics can make read the table whole (see its file). 0022 had the fetch planned on
each call for that reason, at ~0.3-0.7 ms a fetch, on the worker's serial fetch loop.

A function only: nothing to lock but the catalog.

Revision ID: 0028
Revises: 0027
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_fetch_job_v2.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_fetch_job_v2(character varying[], bigint, integer);")
