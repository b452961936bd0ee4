"""Named SQL queries loaded from `db/sql/queries/*.sql`.

Each file holds blocks that start with a header line `-- name --`, may carry
`-- description` lines, and end where the next header starts. Names are global
across files so a call site reads `QUERIES["get_user_by_id"]` without knowing
the file; a duplicate name anywhere is an error at import time.
"""

from __future__ import annotations

import re
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"
QUERIES_DIR = SQL_DIR / "queries"

_HEADER = re.compile(r"^--\s*([a-z_][a-z0-9_]*)\s*--\s*$")


class QueryFileError(ValueError):
    """A queries file that cannot be loaded (duplicate or empty block)."""


def parse_queries(text: str, source: str = "<string>") -> dict[str, str]:
    """Split one file's text into {name: sql}; comments before the first header are ignored."""
    queries: dict[str, str] = {}
    name: str | None = None
    body: list[str] = []

    def flush() -> None:
        if name is None:
            return
        sql = "\n".join(line for line in body if not line.lstrip().startswith("--")).strip()
        if not sql:
            raise QueryFileError(f"{source}: query {name!r} has no SQL")
        queries[name] = sql

    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            flush()
            name = match.group(1)
            if name in queries:
                raise QueryFileError(f"{source}: duplicate query name {name!r}")
            body = []
        elif name is not None:
            body.append(line)
    flush()
    return queries


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, str]:
    """All queries of all files in `directory`, by name."""
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, sql in parse_queries(path.read_text(), source=path.name).items():
            if name in merged:
                raise QueryFileError(f"duplicate query name {name!r} in {origin[name]} and {path.name}")
            merged[name] = sql
            origin[name] = path.name
    return merged


QUERIES: dict[str, str] = load_queries()


def sql_file(relative: str) -> str:
    """The text of a file under db/sql (schema, functions, views, matviews)."""
    return (SQL_DIR / relative).read_text()
