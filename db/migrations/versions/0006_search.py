"""search: per-user full-text indexes and the seq -> month map for history paging.

Revision ID: 0006
Revises: 0005
"""

from db.migrations.sqlfile import execute_sql, run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("functions/mukti_scoped_tsvector_v1.sql")
    run_sql_file("functions/mukti_track_archived_months_v1.sql")
    run_sql_file("schema/0006_search.up.sql")


def downgrade() -> None:
    run_sql_file("schema/0006_search.down.sql")
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_track_archived_months_v1();"
        "DROP FUNCTION IF EXISTS mukti_scoped_tsvector_v1(tsvector, uuid);"
    )
