"""lifecycle helpers: the steps that submitting a question and storing a reply share
(archive overflow, sliding-window counts, counter resets, the question length limit)
as functions of their own, and mukti_submit_question_v2 / mukti_complete_request_v2
built on them. The _v1 functions stay installed until no deployed code calls them.

Revision ID: 0010
Revises: 0009
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# In dependency order; downgrade drops them in reverse.
FUNCTIONS = {
    "mukti_question_max_chars_v1": "",
    "mukti_archive_overflow_v1": "uuid, integer, integer",
    "mukti_question_hits_v1": "text, timestamptz, interval",
    "mukti_question_window_frees_at_v1": "text, timestamptz, interval, integer, integer",
    "mukti_charge_subscription_v1": "uuid, timestamptz, integer, integer, numeric, boolean",
    "mukti_submit_question_v2": "uuid, uuid, text, integer, integer, integer",
    "mukti_complete_request_v2": "uuid, text, integer, integer, integer",
}


def upgrade() -> None:
    lock_timeout()
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("".join(f"DROP FUNCTION IF EXISTS {name}({args});" for name, args in reversed(FUNCTIONS.items())))
