"""accounts: login throttling and refresh-token rotation as atomic SQL functions.

The account tables themselves (users, subscriptions, plans, refresh_tokens,
billing_events) are part of the foundation schema.

Revision ID: 0003
Revises: 0002
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_login_throttle_v1.sql")
    run_sql_file("functions/mukti_rotate_refresh_token_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql(
        "DROP FUNCTION mukti_rotate_refresh_token_v1(bytea, bytea, interval);"
        "DROP FUNCTION mukti_login_throttle_v1(text, text[], integer[], interval);"
    )
