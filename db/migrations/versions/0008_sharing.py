"""sharing: the atomic view of a shared link and the share-password throttle.

The tables (shared_links, shared_link_views, rate_limits) exist since 0001; wrong
share-password guesses are logged in rate_limits under the action 'share_password'.

Revision ID: 0008
Revises: 0007
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_view_share_v1.sql")
    run_sql_file("functions/mukti_share_guess_begin_v1.sql")


def downgrade() -> None:
    lock_timeout()
    execute_sql("DROP FUNCTION mukti_share_guess_begin_v1(text[], integer[], interval);")
    execute_sql("DROP FUNCTION mukti_view_share_v1(bytea, boolean, text, bytea);")
