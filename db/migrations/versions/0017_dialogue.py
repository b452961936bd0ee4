"""dialogue: message versions, feedback, generated titles, model choice, monthly limits,
regenerate and edit (mukti_submit_question_v3, mukti_complete_request_v3).

The request queue's per-question and per-reply uniqueness moves to partial unique
indexes over answers only (a regenerate asks again for the same question). Indexes on
tables that can be large are built CONCURRENTLY outside the migration's transaction,
one statement at a time, so the tables stay writable.

Revision ID: 0017
Revises: 0015
"""

from alembic import op

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file
from db.queries import sql_file

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

FUNCTIONS = {
    "mukti_charge_subscription_v2": "uuid, timestamptz, integer, integer, numeric, boolean",
    "mukti_pending_after_v1": "integer, timestamptz, uuid",
    "mukti_submit_question_v3": "uuid, uuid, text, integer, integer, integer, text, integer",
    "mukti_complete_request_v3": "uuid, text, integer, integer, integer",
    "mukti_add_follow_up_v1": "uuid, text, text, integer, integer",
}


def _statements(relative: str) -> list[str]:
    text = "\n".join(line for line in sql_file(relative).splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() + ";" for statement in text.split(";") if statement.strip()]


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0017_dialogue.up.sql")
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0017_dialogue_security.up.sql")
    run_sql_file("views/reply_feedback_v1.sql")
    with op.get_context().autocommit_block():
        for statement in _statements("schema/0017_dialogue_indexes.up.sql"):
            execute_sql(statement)
        # Replaced by the partial unique indexes just built (answers only): nothing that was
        # guaranteed for answers is lost.
        execute_sql(
            "-- squawk-ignore ban-drop-constraint\n"
            "ALTER TABLE request_queue DROP CONSTRAINT request_queue_message_key,"
            " DROP CONSTRAINT request_queue_reply_key;"
        )
        execute_sql("ALTER TABLE request_queue VALIDATE CONSTRAINT request_queue_kind_valid;")
        execute_sql("ALTER TABLE request_queue VALIDATE CONSTRAINT request_queue_target_seq_valid;")
        execute_sql("ALTER TABLE usage_events VALIDATE CONSTRAINT usage_events_type_valid;")
        execute_sql("ALTER TABLE conversations VALIDATE CONSTRAINT conversations_title_source_valid;")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP VIEW analytics.reply_feedback_v1;")
    execute_sql("".join(f"DROP FUNCTION IF EXISTS {name}({args});" for name, args in reversed(FUNCTIONS.items())))
    execute_sql("DELETE FROM request_queue WHERE kind <> 'answer';")
    execute_sql(
        "ALTER TABLE request_queue ADD CONSTRAINT request_queue_message_key UNIQUE (conversation_id, message_seq),"
        " ADD CONSTRAINT request_queue_reply_key UNIQUE (conversation_id, reply_seq);"
    )
    execute_sql(
        "DROP INDEX request_queue_answer_message_key, request_queue_answer_reply_key,"
        " request_queue_conversation_open_idx, users_follow_ups_idx;"
    )
    run_sql_file("schema/0017_dialogue.down.sql")
