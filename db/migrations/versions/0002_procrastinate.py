"""Procrastinate's own schema, for the pinned version (3.10.0).

The schema is vendored in db/sql/vendor so that this migration replays identically
whatever Procrastinate is installed; tests/migrations checks the vendored copy against
the installed package, so a version bump shows up as a failing test that asks for a
new migration applying Procrastinate's own migration files.

Revision ID: 0002
Revises: 0001
"""

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PROCRASTINATE_VERSION = "3.10.0"


def upgrade() -> None:
    lock_timeout()
    run_sql_file(f"vendor/procrastinate_{PROCRASTINATE_VERSION}_schema.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("vendor/procrastinate_drop.sql")
