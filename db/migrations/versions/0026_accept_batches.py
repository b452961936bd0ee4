"""accept batches: several questions, of any users, accepted in one transaction, each as
one call of mukti_submit_question_v7 (mukti_submit_questions_v1; api/conversations/batches.py),
and the pending counts' triggers on mukti_count_pending_v2, which counts in the slot a
batch names (its own, locked before any user's rows: no deadlock with other batches or
single calls).

Functions, and the four triggers of request_queue replaced in place (CREATE OR REPLACE
TRIGGER: a SHARE ROW EXCLUSIVE lock for a catalog change, under the lock timeout; writers
wait that long at most, readers not at all).

Revision ID: 0026
Revises: 0025
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _count_pending_triggers(function: str) -> str:
    return f"""
CREATE OR REPLACE TRIGGER request_queue_count_pending_insert
    AFTER INSERT ON request_queue REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE OR REPLACE TRIGGER request_queue_count_pending_update
    AFTER UPDATE ON request_queue REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE OR REPLACE TRIGGER request_queue_count_pending_delete
    AFTER DELETE ON request_queue REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE OR REPLACE TRIGGER request_queue_count_pending_truncate
    AFTER TRUNCATE ON request_queue
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_count_pending_v2.sql")
    execute_sql(_count_pending_triggers("mukti_count_pending_v2"))
    run_sql_file("functions/mukti_submit_questions_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION IF EXISTS "
        "mukti_submit_questions_v1(uuid[], uuid[], text[], text[], integer[], integer, integer, integer);"
    )
    execute_sql(_count_pending_triggers("mukti_count_pending_v1"))
    execute_sql("DROP FUNCTION IF EXISTS mukti_count_pending_v2();")
