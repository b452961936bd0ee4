"""hot paths: the accept call planned without sequential scans (mukti_submit_question_v6:
plans kept from a session's first calls on empty queue tables scanned them whole as the
queue grew), and less database work per answer (mukti_complete_request_v4 sets the
stream's columns in the update that completes the request and refuses a request
cancelled meanwhile under its lock; mukti_complete_stream_v3 calls it without the v1
wrapper); and Procrastinate's fetch of the next job planned on each call, without sorts
(schema/0022_fetch_plans.up.sql: a plan kept from an empty queue read the whole backlog
for every fetch).

Functions and a function's settings only: nothing to lock but the catalog.

Revision ID: 0022
Revises: 0021
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FUNCTIONS = {
    "mukti_submit_question_v6": "uuid, uuid, text, integer, integer, integer, text, integer",
    "mukti_complete_request_v4": "uuid, text, integer, integer, integer, integer, boolean, boolean",
    "mukti_complete_stream_v3": "uuid, text, integer, integer, integer, integer, boolean, boolean, uuid",
}


def upgrade() -> None:
    lock_timeout()
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0022_fetch_plans.up.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0022_fetch_plans.down.sql")
    execute_sql("".join(f"DROP FUNCTION IF EXISTS {name}({args});" for name, args in reversed(FUNCTIONS.items())))
