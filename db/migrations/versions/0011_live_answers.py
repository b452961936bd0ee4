"""live answers: streamed reply pieces, cancellation, stopped replies and estimated usage.

Revision ID: 0011
Revises: 0013
"""

from db.migrations.sqlfile import execute_sql, run_sql_file

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None

FUNCTIONS = (
    "mukti_stream_append_v1",
    "mukti_complete_stream_v1",
    "mukti_cancel_request_v1",
    "mukti_purge_stream_chunks_v1",
)


def upgrade() -> None:
    run_sql_file("schema/0011_live_answers.up.sql")
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    # The SECURITY DEFINER ones are the app's alone (docs/privacy.md); the new table gets
    # Row-Level Security like every table with a user_id.
    execute_sql(
        "REVOKE EXECUTE ON FUNCTION mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]),"
        " mukti_purge_stream_chunks_v1(integer) FROM PUBLIC;"
        "GRANT EXECUTE ON FUNCTION mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]),"
        " mukti_purge_stream_chunks_v1(integer) TO mukti_app, mukti_service;"
        "SELECT mukti_protect_user_tables_v1();"
    )


def downgrade() -> None:
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_purge_stream_chunks_v1(integer);"
        "DROP FUNCTION IF EXISTS mukti_cancel_request_v1(uuid, uuid);"
        "DROP FUNCTION IF EXISTS mukti_complete_stream_v1(uuid, text, integer, integer, integer, integer, boolean,"
        " boolean);"
        "DROP FUNCTION IF EXISTS mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]);"
    )
    run_sql_file("schema/0011_live_answers.down.sql")
