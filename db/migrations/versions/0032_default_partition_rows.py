"""default partition rows: the strays in the default partitions counted by the owner
(mukti_default_partition_rows_v1, SECURITY DEFINER), so that the maintenance check, which
runs as the app role without a user's scope, sees every user's rows (Row-Level Security
hid them all: it always read 0).

A function only: nothing to lock but the catalog.

Revision ID: 0032
Revises: 0031
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_default_partition_rows_v1.sql")
    # The SECURITY DEFINER ones are the app's alone (docs/privacy.md).
    execute_sql(
        "REVOKE EXECUTE ON FUNCTION mukti_default_partition_rows_v1() FROM PUBLIC;"
        "GRANT EXECUTE ON FUNCTION mukti_default_partition_rows_v1() TO mukti_app, mukti_service;"
    )


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION IF EXISTS mukti_default_partition_rows_v1();")
