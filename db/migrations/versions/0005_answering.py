"""answering: storing replies (archive, usage, limits), failed attempts, outgoing webhooks.

Revision ID: 0005
Revises: 0004
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0005_answering.up.sql")
    run_sql_file("functions/mukti_enqueue_webhook_v1.sql")
    run_sql_file("functions/mukti_complete_request_v1.sql")
    run_sql_file("functions/mukti_fail_attempt_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_fail_attempt_v1(uuid, text, double precision);"
        "DROP FUNCTION IF EXISTS mukti_complete_request_v1(uuid, text, integer, integer, integer);"
        "DROP FUNCTION IF EXISTS mukti_enqueue_webhook_v1(uuid, text, jsonb);"
    )
    run_sql_file("schema/0005_answering.down.sql")
