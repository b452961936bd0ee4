"""The SQL files under db/sql (schema, functions, views, matviews), as migrations read them.

Named queries are loaded by core/database/queries.py and run through the gateway.
"""

from __future__ import annotations

from core.database.queries import SQL_DIR


def sql_file(relative: str) -> str:
    """The text of a file under db/sql."""
    return (SQL_DIR / relative).read_text()
