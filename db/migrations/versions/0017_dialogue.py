"""dialogue: message versions, feedback, generated titles, model choice, monthly limits.

The request queue's per-question and per-reply uniqueness moves to partial unique
indexes over answers only (a regenerate asks again for the same question), built
CONCURRENTLY outside the migration's transaction so a large queue stays writable.

Revision ID: 0017
Revises: 0009
"""

from alembic import op

from db.migrations.sqlfile import execute_sql, run_sql_file

revision = "0017"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql("SET LOCAL lock_timeout = '5s';")
    run_sql_file("schema/0017_dialogue.up.sql")
    with op.get_context().autocommit_block():
        execute_sql(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS request_queue_answer_message_key"
            " ON request_queue (conversation_id, message_seq) WHERE kind = 'answer';"
        )
        execute_sql(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS request_queue_answer_reply_key"
            " ON request_queue (conversation_id, reply_seq) WHERE kind = 'answer';"
        )
        execute_sql("SET lock_timeout = '5s';")
        execute_sql(
            "ALTER TABLE request_queue DROP CONSTRAINT request_queue_message_key,"
            " DROP CONSTRAINT request_queue_reply_key;"
        )
        execute_sql("ALTER TABLE request_queue VALIDATE CONSTRAINT request_queue_kind_valid;")
        execute_sql("ALTER TABLE request_queue VALIDATE CONSTRAINT request_queue_target_seq_valid;")
        execute_sql("RESET lock_timeout;")


def downgrade() -> None:
    execute_sql("DELETE FROM request_queue WHERE kind <> 'answer';")
    execute_sql(
        "ALTER TABLE request_queue ADD CONSTRAINT request_queue_message_key UNIQUE (conversation_id, message_seq),"
        " ADD CONSTRAINT request_queue_reply_key UNIQUE (conversation_id, reply_seq);"
    )
    execute_sql("DROP INDEX request_queue_answer_message_key, request_queue_answer_reply_key;")
    run_sql_file("schema/0017_dialogue.down.sql")
