"""library: the built-in techniques, votes, moderation and technique editing.

Revision ID: 0007
Revises: 0006
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Dependencies first: mukti_cast_vote_v1 calls mukti_wilson_lower_bound_v1.
FUNCTIONS = (
    "mukti_wilson_lower_bound_v1",
    "mukti_cast_vote_v1",
    "mukti_moderate_v1",
    "mukti_edit_technique_v1",
)


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0007_library.up.sql")
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0007_library_seed.sql")


def downgrade() -> None:
    lock_timeout()
    # Conversations that used a built-in lose their technique (ON DELETE SET NULL), as
    # they would if an operator removed it; votes and versions go with it (CASCADE).
    execute_sql("DELETE FROM techniques WHERE is_builtin;")
    for name in reversed(FUNCTIONS):
        execute_sql(f"DROP FUNCTION IF EXISTS {name};")
    run_sql_file("schema/0007_library.down.sql")
