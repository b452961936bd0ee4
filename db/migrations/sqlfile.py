"""Helpers for SQL-first migrations: a migration applies files from db/sql.

Every migration starts with `lock_timeout(...)`: DDL waits for an ACCESS EXCLUSIVE lock
behind any long reader, and every query that arrives meanwhile queues behind the DDL;
a bounded wait fails the migration instead (retry it later) and never stalls the app.
In offline mode (`alembic upgrade head --sql`) the scripts are printed, not run.
"""

from __future__ import annotations

import psycopg
from alembic import context, op

from db.queries import sql_file


def execute_sql(sql: str) -> None:
    """Run a script of one or more statements as-is.

    Goes to psycopg directly: SQLAlchemy would read `:name` and `%` in function
    bodies as bind parameters, and psycopg runs a multi-statement string when it is
    given no parameters. Offline, the script is written to the output verbatim.
    """
    if context.is_offline_mode():
        op.get_context().impl.static_output(sql.rstrip())
        return
    driver_connection().execute(sql)


def driver_connection() -> psycopg.Connection:
    """The psycopg connection of the migration being run (online mode only)."""
    connection = op.get_bind().connection.driver_connection
    assert connection is not None, "migrations run on a live psycopg connection"
    return connection


def run_sql_file(relative: str) -> None:
    """Apply one file under db/sql, e.g. 'functions/mukti_ensure_partitions_v1.sql'."""
    execute_sql(sql_file(relative))


def lock_timeout(value: str = "5s") -> None:
    """This migration's own lock_timeout. A session SET (not SET LOCAL) so that it holds in
    autocommit blocks too; each migration sets its own first thing, so none inherits one."""
    execute_sql(f"SET lock_timeout = '{value}';")


def offline_note(text: str) -> None:
    """One line in the offline output where a step cannot be rendered as it runs online."""
    if context.is_offline_mode():
        op.get_context().impl.static_output(f"-- {text}")
