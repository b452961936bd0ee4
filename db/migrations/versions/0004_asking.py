"""asking: submitting a question (limits, quota, message, queue row, job) and queue positions.

Revision ID: 0004
Revises: 0003
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0004_asking.up.sql")
    run_sql_file("functions/mukti_count_pending_v1.sql")
    run_sql_file("schema/0004_asking_counts.up.sql")
    run_sql_file("functions/mukti_queue_position_v1.sql")
    run_sql_file("functions/mukti_text_search_config_v1.sql")
    run_sql_file("functions/mukti_submit_question_v1.sql")
    run_sql_file("functions/mukti_purge_rate_limits_v1.sql")
    run_sql_file("functions/mukti_delete_conversation_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_delete_conversation_v1(uuid, uuid);"
        "DROP FUNCTION IF EXISTS mukti_purge_rate_limits_v1(integer);"
        "DROP FUNCTION IF EXISTS mukti_submit_question_v1(uuid, uuid, text, integer, integer, integer);"
        "DROP FUNCTION IF EXISTS mukti_text_search_config_v1(jsonb);"
        "DROP FUNCTION IF EXISTS mukti_queue_position_v1(uuid);"
        "DROP TRIGGER IF EXISTS request_queue_count_pending_truncate ON request_queue;"
        "DROP TRIGGER IF EXISTS request_queue_count_pending_delete ON request_queue;"
        "DROP TRIGGER IF EXISTS request_queue_count_pending_update ON request_queue;"
        "DROP TRIGGER IF EXISTS request_queue_count_pending_insert ON request_queue;"
        "DROP FUNCTION IF EXISTS mukti_count_pending_v1();"
    )
    run_sql_file("schema/0004_asking.down.sql")
