"""tenant keys: the primary keys of votes and notifications include user_id (both are
only ever read by user), one step of the Citus plan in docs/scaling.md. Built
CONCURRENTLY outside a transaction; only the swap of the keys takes a (brief) lock.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

from db.migrations.sqlfile import execute_sql, lock_timeout
from db.queries import sql_file

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _run_one_by_one(relative: str) -> None:
    """Each statement in a transaction of its own (CREATE INDEX CONCURRENTLY may not run in
    one); a swap waits at most 5 s for its lock, then fails and can be rerun."""
    statements = [s.strip() for s in sql_file(relative).split(";") if s.strip()]
    with op.get_context().autocommit_block():
        for statement in statements:
            execute_sql(statement + ";")


def upgrade() -> None:
    lock_timeout()
    _run_one_by_one("schema/0016_tenant_keys.up.sql")


def downgrade() -> None:
    lock_timeout()
    _run_one_by_one("schema/0016_tenant_keys.down.sql")
