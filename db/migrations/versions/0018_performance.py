"""performance: no per-row NOTIFY for questions (the API coalesces wake-ups,
core/database/wake.py), and an index of each user's archive months, so a search plans and
probes only the monthly partitions that hold the user's messages (db/sql/queries/search.sql).

The index is built CONCURRENTLY outside the migration's transaction: archived_message_months
has a row per conversation and month, large on a big archive, and takes writes from the
archiving trigger all the time.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lock_timeout()  # a session SET: it also holds in the autocommit block below
    run_sql_file("schema/0018_performance.up.sql")
    with op.get_context().autocommit_block():
        run_sql_file("schema/0018_search_months_index.up.sql")


def downgrade() -> None:
    lock_timeout()
    with op.get_context().autocommit_block():
        run_sql_file("schema/0018_search_months_index.down.sql")
    run_sql_file("schema/0018_performance.down.sql")
