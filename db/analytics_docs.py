"""docs/analytics.md's reference section, generated from the COMMENTs on the analytics
schema (db/sql/schema/0014_analytics_comments.sql): one source for both.

    DATABASE_URL=... uv run python -m db.analytics_docs          # rewrite the section
    DATABASE_URL=... uv run python -m db.analytics_docs --check  # exit 1 if it differs

tests/integration/test_analytics_docs.py checks the committed file against a migrated
database, and that every relation and column has a comment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

DOC = Path(__file__).resolve().parents[1] / "docs" / "analytics.md"
BEGIN = "<!-- BEGIN GENERATED from the analytics COMMENTs: python -m db.analytics_docs -->"
END = "<!-- END GENERATED -->"
KINDS = {"v": "view", "m": "materialized view", "r": "table"}

RELATIONS = """
SELECT c.oid, c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'analytics' AND c.relkind IN ('v', 'm', 'r')
 ORDER BY array_position(ARRAY['v', 'm', 'r']::"char"[], c.relkind), c.relname
"""
COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, col_description(a.attrelid, a.attnum) AS comment
  FROM pg_attribute a
 WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum
"""


def _cell(text: str | None) -> str:
    return (text or "**(no comment)**").replace("|", "\\|").replace("\n", " ")


def render(conn: psycopg.Connection) -> str:
    """The generated section, markers included."""
    out = [BEGIN, ""]
    for oid, name, kind, comment in conn.execute(RELATIONS).fetchall():
        out += [f"### `analytics.{name}` ({KINDS[kind]})", "", _cell(comment), ""]
        out += ["| column | type | meaning |", "|---|---|---|"]
        for column, type_, column_comment in conn.execute(COLUMNS, (oid,)).fetchall():
            out.append(f"| `{column}` | {type_} | {_cell(column_comment)} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def uncommented(conn: psycopg.Connection) -> list[str]:
    """Relations and columns of the analytics schema without a COMMENT."""
    missing = []
    for oid, name, _kind, comment in conn.execute(RELATIONS).fetchall():
        if not comment:
            missing.append(name)
        missing += [f"{name}.{c}" for c, _t, cc in conn.execute(COLUMNS, (oid,)).fetchall() if not cc]
    return missing


def current_section(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main(argv: list[str] | None = None) -> int:
    from core.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file differs")
    args = parser.parse_args(argv)
    with psycopg.connect(Settings.from_env().require_database_url()) as conn:
        section = render(conn)
    text = DOC.read_text()
    if args.check:
        if current_section(text) != section:
            print(f"{DOC} is out of date: run python -m db.analytics_docs", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text.replace(current_section(text), section))
    print(f"{DOC}: reference section regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
