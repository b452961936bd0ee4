"""live answers: streamed reply pieces, cancellation, stopped replies and estimated usage.

Revision ID: 0011
Revises: 0010
"""

from db.migrations.sqlfile import execute_sql, run_sql_file

revision = "0011"
down_revision = "0010"
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
    # The SECURITY DEFINER ones are the app's alone (docs/privacy.md). Row-Level Security
    # for the new table: by 0013 (privacy) when it comes later, here when it came first.
    execute_sql(
        "REVOKE EXECUTE ON FUNCTION mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]),"
        " mukti_purge_stream_chunks_v1(integer) FROM PUBLIC;"
        "GRANT EXECUTE ON FUNCTION mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]),"
        " mukti_purge_stream_chunks_v1(integer) TO mukti_app;"
        """DO $$ BEGIN
            IF to_regrole('mukti_service') IS NOT NULL THEN
                GRANT EXECUTE ON FUNCTION
                    mukti_stream_append_v1(uuid[], integer[], integer[], uuid[], text[], text[]),
                    mukti_purge_stream_chunks_v1(integer) TO mukti_service;
            END IF;
            IF to_regproc('mukti_protect_user_tables_v1') IS NOT NULL THEN
                PERFORM mukti_protect_user_tables_v1();
            END IF;
        END $$;"""
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
