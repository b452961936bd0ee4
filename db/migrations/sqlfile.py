"""Helpers for SQL-first migrations: a migration applies files from db/sql."""

from __future__ import annotations

from alembic import op

from db.queries import sql_file


def execute_sql(sql: str) -> None:
    """Run a script of one or more statements as-is.

    Goes to psycopg directly: SQLAlchemy would read `:name` and `%` in function
    bodies as bind parameters, and psycopg runs a multi-statement string when it is
    given no parameters.
    """
    connection = op.get_bind().connection.driver_connection
    assert connection is not None, "migrations run on a live psycopg connection"
    connection.execute(sql)


def run_sql_file(relative: str) -> None:
    """Apply one file under db/sql, e.g. 'functions/mukti_ensure_partitions_v1.sql'."""
    execute_sql(sql_file(relative))
