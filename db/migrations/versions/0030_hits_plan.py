"""hits plan: the limits' count of every accept (mukti_question_hits_v1) planned once per
session, without sequential scans, instead of again on each call once most of a user's
rate-limit rows lie outside the day's window (schema/0030_hits_plan.up.sql: the cost that
grew with an unpurged history in bench/aged.py).

A function's settings only: nothing to lock but the catalog.

Revision ID: 0030
Revises: 0029
"""

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0030_hits_plan.up.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0030_hits_plan.down.sql")
