"""privacy: Row-Level Security on every table with a user_id (policies keyed on the
transaction-local setting mukti.user_id), the role mukti_service for paths that act for
no single user, and account erasure (docs/privacy.md).

ENABLE ROW LEVEL SECURITY and CREATE POLICY change only the catalog: each takes a brief
ACCESS EXCLUSIVE lock (bounded by the migrator's lock_timeout) and rewrites nothing.

Revision ID: 0013
Revises: 0012
"""

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTIONS = ("mukti_current_user_v1", "mukti_protect_user_tables_v1", "mukti_erase_user_v1", "mukti_job_owner_v1")


def upgrade() -> None:
    lock_timeout()
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0013_privacy.up.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0013_privacy.down.sql")
