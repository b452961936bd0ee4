"""submit v4: a cheaper accept path (mukti_submit_question_v4, mukti_pending_after_v2), and
the calls that scope themselves (mukti_scope_to_user_v1, mukti_complete_stream_v2).

The same outcomes as v3; the per-call costs that EXPLAIN and pgbench found are gone (see
the function files). Functions only: nothing to lock but the catalog.

Revision ID: 0019
Revises: 0018
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

FUNCTIONS = {
    "mukti_scope_to_user_v1": "uuid",
    "mukti_pending_after_v2": "integer, timestamptz, uuid",
    "mukti_submit_question_v4": "uuid, uuid, text, integer, integer, integer, text, integer",
    "mukti_complete_stream_v2": "uuid, text, integer, integer, integer, integer, boolean, boolean, uuid",
}


def upgrade() -> None:
    lock_timeout()
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0019_submit_v4.up.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("".join(f"DROP FUNCTION IF EXISTS {name}({args});" for name, args in reversed(FUNCTIONS.items())))
